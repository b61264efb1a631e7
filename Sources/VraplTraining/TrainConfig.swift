import Foundation
import VraplCore
import VraplModel
import VraplDataset
import VraplNN
import VraplConfigFile

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
    public var loss: LossKind
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
        weightDecay: 3e-4, loss: .l1, earlyStoppingPatience: 15, schedulerFactor: 0.5, schedulerPatience: 5,
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
        let text = try YAMLMapping.readText(path: path, what: "config")
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(yaml: text, name: name, source: path)
    }

    public static func parse(yaml text: String, name: String = "config", source: String = "config") throws -> TrainConfig {
        do { return try parse(YAMLMapping.parse(text, what: "the config"), name: name, source: source) } catch let e as VraplError {
            throw e.message.hasPrefix(source + ": ") ? e : VraplError("\(source): \(e.message)")
        }
    }

    static func parse(_ root: YAMLMapping, name: String, source: String) throws -> TrainConfig {
        var c = TrainConfig.default
        c.name = name
        // A typo must not silently fall back to a default: every mapping lists the keys it knows.
        try root.rejectUnknown(["version", "model", "features", "busy_source", "embedding", "data", "split", "training", "seed"])
        let model = try root.mapping("model") ?? YAMLMapping([:], path: "model")
        try model.rejectUnknown(["kind", "cnn_channels", "cnn_kernel_size", "pool_size", "use_batch_norm",
                                 "encoder_layers", "latent_dim", "power_head_layers", "dropout"])
        let emb = try root.mapping("embedding") ?? YAMLMapping([:], path: "embedding")
        try emb.rejectUnknown(["d", "tau", "sample_interval_ms"])
        let data = try root.mapping("data") ?? YAMLMapping([:], path: "data")
        try data.rejectUnknown(["skip_samples", "cross_segments", "max_samples"])
        let split = try root.mapping("split") ?? YAMLMapping([:], path: "split")
        try split.rejectUnknown(["kind", "seed", "validation_fraction", "test_fraction", "holdout_family", "stratify"])
        let t = try root.mapping("training") ?? YAMLMapping([:], path: "training")
        try t.rejectUnknown(["batch_size", "epochs", "learning_rate", "weight_decay", "loss", "early_stopping_patience", "scheduler", "interval_level"])
        let sched = try t.mapping("scheduler") ?? YAMLMapping([:], path: "training.scheduler")
        try sched.rejectUnknown(["type", "factor", "patience", "min_lr"])

        c.version = try root.string("version") ?? c.version
        let kindText = try model.string("kind") ?? (c.version == "v3" ? "mlp" : "cnn1d")
        guard let kind = Architecture.Kind(rawValue: kindText) else {
            throw VraplError("\(source): model.kind '\(kindText)' is not cnn1d or mlp")
        }
        c.architectureKind = kind
        c.cnnChannels = try model.ints("cnn_channels") ?? c.cnnChannels
        c.cnnKernelSize = try model.int("cnn_kernel_size") ?? c.cnnKernelSize
        c.poolSize = try model.int("pool_size") ?? c.poolSize
        c.useBatchNorm = try model.bool("use_batch_norm") ?? c.useBatchNorm
        c.encoderLayers = try model.ints("encoder_layers") ?? c.encoderLayers
        c.latentDim = try model.int("latent_dim") ?? c.latentDim
        c.powerHeadLayers = try model.ints("power_head_layers") ?? c.powerHeadLayers
        c.dropout = try model.double("dropout") ?? c.dropout
        if let f = try root.string("features") { c.featureSet = try FeatureSet(named: f) }
        if let b = try root.string("busy_source") {
            do { c.featureSet = c.featureSet.withBusySource(try BusyTimeSource(parsing: b)) } catch let e as VraplError {
                throw VraplError("\(source): busy_source: \(e.message)")
            }
        }
        c.d = try emb.int("d") ?? c.d
        c.tau = try emb.int("tau") ?? c.tau
        c.sampleIntervalMs = try emb.double("sample_interval_ms") ?? c.sampleIntervalMs
        c.skipSamples = try data.int("skip_samples") ?? c.skipSamples
        c.crossSegments = try data.bool("cross_segments") ?? c.crossSegments
        c.maxSamples = try data.int("max_samples") ?? c.maxSamples
        c.seed = UInt64(max(0, try root.int("seed") ?? Int(c.seed)))
        if let k = try split.string("kind") {
            guard let kind = SplitKind(rawValue: k) else {
                throw VraplError("\(source): split.kind '\(k)' is not one of \(SplitKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.split.kind = kind
        }
        c.split.seed = UInt64(max(0, try split.int("seed") ?? Int(c.seed)))
        c.split.validationFraction = try split.double("validation_fraction") ?? c.split.validationFraction
        c.split.testFraction = try split.double("test_fraction") ?? c.split.testFraction
        c.split.holdoutFamily = try split.string("holdout_family")
        switch try split.string("stratify") ?? "none" {
        case "none": c.split.stratifyByDesign = false
        case "design": c.split.stratifyByDesign = true
        case let other: throw VraplError("\(source): split.stratify '\(other)' is not none or design")
        }
        c.batchSize = try t.int("batch_size") ?? c.batchSize
        c.epochs = try t.int("epochs") ?? c.epochs
        c.learningRate = try t.double("learning_rate") ?? c.learningRate
        c.weightDecay = try t.double("weight_decay") ?? c.weightDecay
        if let name = try t.string("loss") {
            guard let loss = LossKind(name: name) else {
                throw VraplError("\(source): training.loss '\(name)' is not l1, mse, huber or huber:<delta>")
            }
            c.loss = loss
        } else {
            c.loss = c.architectureKind == .mlp ? .mse : .l1
        }
        c.earlyStoppingPatience = try t.int("early_stopping_patience") ?? c.earlyStoppingPatience
        c.intervalLevel = try t.double("interval_level") ?? c.intervalLevel
        c.schedulerFactor = try sched.double("factor") ?? c.schedulerFactor
        c.schedulerPatience = try sched.int("patience") ?? c.schedulerPatience
        c.minLearningRate = try sched.double("min_lr") ?? c.minLearningRate
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
