import Foundation
import VraplCore
import VraplDataset
import VraplModel
import VraplTraining
import VraplTrace

/// Short-schedule retrains for the generalisation gap and the feature ablation.
public struct RetrainOptions: Sendable {
    /// Epochs of each retrain (early stopping may end it sooner).
    public var epochs = 4
    /// Cap on the windows of each retrain (seeded subsample), nil for all.
    public var maxWindows: Int? = 60_000
    public init() {}
}

/// One row of the generalisation-gap table: the same model family trained and scored under a split.
public struct GapRow: Codable, Sendable {
    public var split: String
    public var heldOut: [String]
    public var trainWindows: Int
    public var testWindows: Int
    public var epochs: Int
    public var model: ErrorMetrics
    public var idleBias: Double?
    public var linearBaseline: ErrorMetrics
    public var ceilingRMSE: Double?

    enum CodingKeys: String, CodingKey {
        case split
        case heldOut = "held_out"
        case trainWindows = "train_windows"
        case testWindows = "test_windows"
        case epochs, model
        case idleBias = "idle_bias"
        case linearBaseline = "linear_baseline"
        case ceilingRMSE = "ceiling_rmse"
    }
}

/// One row of the feature ablation: a feature set retrained and scored on held-out windows.
public struct AblationRow: Codable, Sendable {
    public var name: String
    public var features: [String]
    public var split: String
    public var model: ErrorMetrics
    /// Change in held-out RMSE against the full decode-rapl-4 set, W (positive: worse without it).
    public var deltaRMSE: Double?

    enum CodingKeys: String, CodingKey {
        case name, features, split, model
        case deltaRMSE = "delta_rmse"
    }
}

public enum Retraining {
    /// The training config of a short retrain of `model`'s family: its architecture kind, features and
    /// embedding with DECODE-RAPL's defaults for everything else, `options.epochs` epochs.
    public static func config(like model: ModelFile, featureSet: FeatureSet, options: RetrainOptions, seed: UInt64) -> TrainConfig {
        var c = TrainConfig.default
        c.name = "retrain-\(featureSet.name)"
        if model.architecture.kind == .mlp {
            c.version = "v3"; c.architectureKind = .mlp; c.loss = .mse
            c.encoderLayers = model.architecture.encoderLayers ?? c.encoderLayers
        } else {
            c.cnnChannels = model.architecture.cnnChannels ?? c.cnnChannels
            c.cnnKernelSize = model.architecture.cnnKernelSize ?? c.cnnKernelSize
            c.poolSize = model.architecture.poolSize ?? c.poolSize
            c.useBatchNorm = model.architecture.useBatchNorm ?? c.useBatchNorm
        }
        c.latentDim = model.architecture.latentDim
        c.powerHeadLayers = model.architecture.powerHeadLayers
        c.dropout = model.architecture.dropout
        c.featureSet = featureSet
        c.d = model.embedding.d; c.tau = model.embedding.tau; c.sampleIntervalMs = model.embedding.sampleIntervalMs
        c.epochs = max(1, options.epochs)
        c.earlyStoppingPatience = max(c.earlyStoppingPatience, c.epochs)
        c.maxSamples = options.maxWindows
        c.seed = seed
        return c
    }

    /// Trains `config` on `dataset` under `split` (best validation epoch kept).
    static func train(config: TrainConfig, dataset: WindowDataset, split: DatasetSplit, threads: Int) throws -> Trainer {
        let trainer = try Trainer(config: config, dataset: dataset, split: split, threads: threads)
        var epoch = 0
        while epoch < config.epochs && !(epoch > 0 && trainer.shouldStop) {
            _ = trainer.runEpoch(epoch)
            epoch += 1
        }
        trainer.restoreBest()
        return trainer
    }

    /// The same model family trained briefly and scored under the shuffle, segment, family and time
    /// splits; then the shuffle-trained model (DECODE-RAPL's protocol) on each live trace.
    public static func generalisationGap(model: ModelFile, data: EvalData, livePaths: [String], options: RetrainOptions,
                                         ceiling: FeatureCeiling.Result, seed: UInt64, threads: Int,
                                         log: (String) -> Void) throws -> [GapRow] {
        let featureSet = try model.featureSet()
        let cfg = config(like: model, featureSet: featureSet, options: options, seed: seed)
        var ds = data.dataset
        if let cap = options.maxWindows, cap < ds.windowCount { ds = ds.limited(toWindows: cap, seed: seed) }
        var sub = EvalData(dataset: ds, hiddenWatts: data.hiddenWatts)
        sub.sampleIntervalSeconds = data.sampleIntervalSeconds
        var rows: [GapRow] = []
        var shuffleTrainer: Trainer? = nil
        for kind in SplitKind.allCases {
            let split: DatasetSplit
            do { split = try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: kind, seed: seed)) } catch {
                log("gap: split \(kind.rawValue) skipped: \(error)")
                continue
            }
            let started = Date()
            let trainer = try train(config: cfg, dataset: ds, split: split, threads: threads)
            let pred = trainer.predict(windows: split.test).map(Double.init)
            let y = sub.targets(split.test), busy = sub.busy(split.test)
            let m = ErrorMetrics(predicted: pred, measured: y)
            let idle = IdleBias(predicted: pred, measured: y, busyPercent: busy).metrics
            let lin = sub.baselines(train: split.train, test: split.test).first { $0.baseline.kind == .linear }
            log(String(format: "gap: %@ retrained (%d epochs, %.0f s): test RMSE %.3f W, R² %.3f", kind.rawValue,
                       trainer.history.count, Date().timeIntervalSince(started), m.rmse, m.r2 ?? .nan))
            rows.append(GapRow(split: kind.rawValue, heldOut: split.heldOut, trainWindows: split.train.count, testWindows: split.test.count,
                               epochs: trainer.history.count, model: m, idleBias: idle.count > 0 ? idle.meanBias : nil,
                               linearBaseline: lin?.test ?? ErrorMetrics(predicted: [Double](), measured: []),
                               ceilingRMSE: Evaluator.ceilingFor(windows: split.test, data: sub, ceiling: ceiling)))
            if kind == .shuffle { shuffleTrainer = trainer }
        }
        if let trainer = shuffleTrainer, !livePaths.isEmpty {
            let file = try trainer.modelFile(powerSource: model.powerSource, provenance: "{}", metrics: "{}", trainingStats: nil, name: "gap-shuffle")
            let predictor = try ModelPredictor(model: file, threads: threads)
            let all = (0..<Int32(ds.windowCount)).map { $0 }
            let linear = Baseline.fit(.linear, u: sub.busy(all).map { $0 / 100 }, y: sub.targets(all))
            for path in livePaths {
                let ld = try EvalData.load(paths: [path], featureSet: featureSet,
                                           options: WindowOptions(embedding: ds.options.embedding, skipSamples: 0, crossSegments: true))
                let ws = (0..<Int32(ld.windowCount)).map { $0 }
                guard !ws.isEmpty else { continue }
                let pred = try predictor.predict(dataset: ld.dataset, windows: ws)
                let y = ld.targets(ws), busy = ld.busy(ws)
                let idle = IdleBias(predicted: pred, measured: y, busyPercent: busy).metrics
                rows.append(GapRow(split: "live: " + URL(fileURLWithPath: path).lastPathComponent, heldOut: ["(trained: shuffle)"],
                                   trainWindows: trainer.split.train.count, testWindows: ws.count, epochs: trainer.history.count,
                                   model: ErrorMetrics(predicted: pred, measured: y), idleBias: idle.count > 0 ? idle.meanBias : nil,
                                   linearBaseline: ErrorMetrics(predicted: linear.predict(u: busy.map { $0 / 100 }), measured: y),
                                   ceilingRMSE: nil))
            }
        }
        return rows
    }

    /// Short retrains with decode-rapl-4, each of its features left out (held at zero), and `extended`,
    /// all under the `segment` split; ΔRMSE against the full decode-rapl-4 set.
    public static func ablation(model: ModelFile, dataPaths: [String], skipSamples: Int, options: RetrainOptions,
                                seed: UInt64, threads: Int, log: (String) -> Void) throws -> [AblationRow] {
        let windowOptions = WindowOptions(embedding: model.delayEmbedding, skipSamples: skipSamples)
        struct Loaded { var name: String; var base: FeatureSeries; var extended: FeatureSeries?; var watts: [Float]; var segments: [TraceSegment]; var source: PowerSource }
        var traces: [Loaded] = []
        for path in dataPaths where !path.hasSuffix(".csv") {
            let t = try TraceReader.read(path)
            traces.append(Loaded(name: URL(fileURLWithPath: path).lastPathComponent,
                                 base: try FeatureSeries(trace: t, featureSet: .decodeRapl4),
                                 extended: try? FeatureSeries(trace: t, featureSet: .extended),
                                 watts: try TargetPower.series(trace: t), segments: t.segments, source: t.metadata.powerSource))
        }
        guard !traces.isEmpty else { throw VraplError("feature ablation needs .h5 traces") }
        var variants: [(name: String, set: FeatureSet, drop: Int?)] = [("decode-rapl-4", .decodeRapl4, nil)]
        for (i, f) in FeatureSet.decodeRapl4.featureNames.enumerated() { variants.append(("without \(f)", .decodeRapl4, i)) }
        if traces.allSatisfy({ $0.extended != nil }) { variants.append(("extended", .extended, nil)) }
        var rows: [AblationRow] = []
        for v in variants {
            var builder = WindowDatasetBuilder(featureNames: v.set.featureNames, options: windowOptions)
            for t in traces {
                guard var series = v.set == .extended ? t.extended : t.base else { continue }
                if let drop = v.drop {
                    for k in 0..<series.count { series.values[drop * series.count + k] = 0 }
                }
                try builder.add(series: series, targets: t.watts, segments: t.segments, name: t.name, powerSource: t.source)
            }
            var ds = builder.build()
            if let cap = options.maxWindows, cap < ds.windowCount { ds = ds.limited(toWindows: cap, seed: seed) }
            let split = try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .segment, seed: seed))
            let cfg = config(like: model, featureSet: v.set, options: options, seed: seed)
            let started = Date()
            let trainer = try train(config: cfg, dataset: ds, split: split, threads: threads)
            let pred = trainer.predict(windows: split.test).map(Double.init)
            let y = split.test.map { Double(ds.targets[Int(ds.windowEnds[Int($0)])]) }
            let m = ErrorMetrics(predicted: pred, measured: y)
            log(String(format: "ablation: %@ (%.0f s): test RMSE %.3f W", v.name, Date().timeIntervalSince(started), m.rmse))
            let names = v.drop.map { d in v.set.featureNames.enumerated().filter { $0.offset != d }.map(\.element) } ?? v.set.featureNames
            rows.append(AblationRow(name: v.name, features: names, split: SplitKind.segment.rawValue, model: m, deltaRMSE: nil))
        }
        if let full = rows.first?.model.rmse {
            for i in rows.indices { rows[i].deltaRMSE = rows[i].model.rmse - full }
        }
        return rows
    }
}
