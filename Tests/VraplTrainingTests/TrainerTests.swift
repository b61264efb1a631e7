import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplDataset
import VraplNN
import VraplTrace
@testable import VraplTraining
import VraplModel

/// A learnable synthetic dataset: 4 decode-rapl-4 features as piecewise-constant levels with noise,
/// power = 20 + 0.5·user + 0.2·system + 2·log_ctx of the current sample. Two segments.
func syntheticDataset(samples: Int = 1200, d: Int = 6, source: PowerSource = .simulated(profile: "unit")) throws -> WindowDataset {
    var rng = SplitMix64(seed: 11)
    func uniform() -> Float { Float(rng.next() >> 40) / Float(1 << 24) }
    var v = [Float](repeating: 0, count: 4 * samples)
    var y = [Float](repeating: 0, count: samples)
    var level: [Float] = [0, 0, 0, 0]
    for t in 0..<samples {
        if t % 40 == 0 { level = [uniform() * 90, uniform() * 10, uniform() * 2, 5 + uniform() * 6] }
        for f in 0..<4 { v[f * samples + t] = level[f] + uniform() }
        y[t] = 20 + 0.5 * v[t] + 0.2 * v[samples + t] + 2 * v[3 * samples + t]
    }
    let series = FeatureSeries(featureNames: FeatureSet.decodeRapl4.featureNames, count: samples, values: v, firstValid: 0,
                               timestampsUnix: (0..<samples).map { 1.7e9 + Double($0) * 0.016 })
    var b = WindowDatasetBuilder(featureNames: series.featureNames,
                                 options: WindowOptions(embedding: DelayEmbedding(d: d, tau: 1), skipSamples: 0))
    try b.add(series: series, targets: y, segments: [TraceSegment(name: "cpu-a", firstSample: 0, lastSample: samples / 2 - 1),
                                                     TraceSegment(name: "io-b", firstSample: samples / 2, lastSample: samples - 1)],
              name: "synthetic", powerSource: source)
    return b.build()
}

/// A small CNN so that debug-build tests stay fast.
func tinyConfig(epochs: Int = 4) -> TrainConfig {
    var c = TrainConfig.default
    c.name = "tiny"
    c.cnnChannels = [4, 8]; c.cnnKernelSize = 3; c.latentDim = 8; c.powerHeadLayers = [16, 8]; c.dropout = 0.1
    c.d = 6; c.batchSize = 32; c.epochs = epochs; c.learningRate = 3e-3; c.skipSamples = 0
    c.earlyStoppingPatience = 50; c.schedulerPatience = 1
    return c
}

@Suite struct TrainerTests {

    @Test func metricsHandWorked() {
        // errors −1, +1, +2 on targets 1, 2, 3 (mean 2, SS_tot 2): MAE 4/3, RMSE √2, R² 1 − 6/2 = −2.
        let m = RegressionMetrics.compute(predictions: [0, 3, 5], targets: [1, 2, 3], loss: .mse)
        #expect(abs(m.mae - 4.0 / 3) < 1e-12)
        #expect(abs(m.rmse - 2.0.squareRoot()) < 1e-12)
        #expect(abs((m.r2 ?? .nan) - -2) < 1e-12)
        #expect(abs(m.loss - 2) < 1e-12)
        let h = RegressionMetrics.compute(predictions: [0, 3], targets: [0.5, 0], loss: .huber(delta: 1))
        #expect(abs(h.loss - (0.125 + 2.5) / 2) < 1e-12)
    }

    @Test func learnsAndIsDeterministic() throws {
        let ds = try syntheticDataset()
        let split = try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .shuffle, seed: 1))
        let a = try Trainer(config: tinyConfig(), dataset: ds, split: split, threads: 1)
        let before = a.evaluate(windows: split.validation)
        for e in 0..<4 { _ = a.runEpoch(e) }
        let after = a.evaluate(windows: split.validation)
        #expect(after.mae < before.mae * 0.5)
        #expect(a.history.count == 4)
        // Same seed, same data → the same history, bit for bit.
        let b = try Trainer(config: tinyConfig(), dataset: ds, split: split, threads: 1)
        for e in 0..<4 { _ = b.runEpoch(e) }
        #expect(a.history.map(\.trainLoss) == b.history.map(\.trainLoss))
        #expect(a.history.map(\.validation) == b.history.map(\.validation))
        // Training windows only feed the scaler.
        #expect(a.scaler == MinMaxScaler.fit(dataset: ds, windows: split.train))
    }

    /// The probe's one-window trace: training used to write a model and then die on a NaN R².
    @Test func tooFewWindowsAreRefusedBeforeAnyFile() throws {
        let ds = try syntheticDataset().limited(toWindows: 3, seed: 1)
        let dir = try Scratch.directory()
        let out = dir.appendingPathComponent("few.safetensors")
        #expect {
            try TrainingSession(config: tinyConfig(epochs: 1), dataset: ds, provenance: [], threads: 1, output: out).run()
        } throws: { "\($0)".contains("3 windows are too few") && "\($0)".contains("No model written") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func nonFiniteScoresRoundTripThroughJSONAsNull() throws {
        let constant = RegressionMetrics.compute(predictions: [1, 2], targets: [5, 5], loss: .l1)
        #expect(constant.r2 == nil && constant.mae == 3.5)
        let json = String(decoding: try JSONEncoder().encode([constant]), as: UTF8.self)
        #expect(json.contains("\"r2\":null"), "\(json)")
        let back = try JSONDecoder().decode([RegressionMetrics].self, from: Data(json.utf8))
        #expect(back[0].r2 == nil && back[0].mae == 3.5 && back[0].count == 2)
        #expect(back[0] == constant)
    }

    /// The v3 MLP trains through the same loop and writes a loadable model (MSE loss, as DECODE-RAPL's v3).
    @Test func mlpTrainsToo() throws {
        let ds = try syntheticDataset()
        var config = tinyConfig(epochs: 3)
        config.architectureKind = .mlp
        config.encoderLayers = [32, 16]
        config.loss = .mse
        config.intervalLevel = 0.9
        let dir = try Scratch.directory()
        let out = dir.appendingPathComponent("mlp.safetensors")
        let outcome = try TrainingSession(config: config, dataset: ds, provenance: [], threads: 2, output: out).run()
        let model = try ModelFile.load(contentsOf: out)
        #expect(model.architecture.kind == .mlp && model.architecture.inputDim == 24)
        #expect(model.interval?.nominal == 0.9)  // training.interval_level reaches the model file
        #expect(outcome.epochs.count == 3)
        #expect(outcome.epochs.last.map { $0.validation.mae < outcome.epochs[0].validation.mae * 1.5 } == true)
        #expect(outcome.test.mae.isFinite)
    }

    /// A run interrupted after 2 epochs and resumed from its checkpoint ends exactly where an
    /// uninterrupted 4-epoch run ends (weights, optimizer, schedule, dropout all restored).
    @Test func resumeContinuesExactly() throws {
        let ds = try syntheticDataset()
        let dir = try Scratch.directory()
        let straight = try TrainingSession(config: tinyConfig(epochs: 4), dataset: ds, provenance: [], threads: 1,
                                           output: dir.appendingPathComponent("straight.safetensors")).run()
        let first = try TrainingSession(config: tinyConfig(epochs: 2), dataset: ds, provenance: [], threads: 1,
                                        output: dir.appendingPathComponent("part.safetensors")).run()
        try #require(first.bestEpoch == 1)   // loss still falling: the checkpoint is the last epoch
        let resumed = try TrainingSession(config: tinyConfig(epochs: 4), dataset: ds, provenance: [], threads: 1,
                                          output: dir.appendingPathComponent("part.safetensors"),
                                          resume: dir.appendingPathComponent("part.safetensors")).run()
        #expect(resumed.epochs.count == 4)
        #expect(resumed.epochs.map(\.trainLoss) == straight.epochs.map(\.trainLoss))
        #expect(resumed.test == straight.test)
        let m1 = try ModelFile.load(contentsOf: dir.appendingPathComponent("straight.safetensors"))
        let m2 = try ModelFile.load(contentsOf: dir.appendingPathComponent("part.safetensors"))
        #expect(m1.tensors == m2.tensors)
    }

    @Test func sessionWritesModelCardHistoryAndStats() throws {
        let ds = try syntheticDataset()
        let dir = try Scratch.directory()
        let out = dir.appendingPathComponent("m.safetensors")
        var config = tinyConfig(epochs: 2)
        config.split.kind = .segment
        config.split = SplitOptions(kind: .time)
        let outcome = try TrainingSession(config: config, dataset: ds, provenance: [], threads: 2, output: out).run()
        let model = try ModelFile.load(contentsOf: out)
        #expect(model.powerSource == .simulated(profile: "unit"))
        #expect(model.features == FeatureSet.decodeRapl4.featureNames)
        #expect(model.embedding.d == 6 && model.embedding.tau == 1)
        let stats = try #require(model.trainingStats)
        #expect(stats.windows == outcome.split.train.count)
        #expect(stats.hasLatent)
        #expect(stats.featureMin[0] >= 0 && stats.featureMax[0] <= 91)
        #expect(model.metrics.contains("\"test\""))
        #expect(model.normalization.featureMin.count == 24)
        let card = try String(contentsOf: outcome.card, encoding: .utf8)
        #expect(card.contains("SIMULATED POWER (`sim:unit`)"))
        #expect(card.contains("`time`"))
        let history = try JSONSerialization.jsonObject(with: Data(contentsOf: outcome.history)) as? [String: Any]
        #expect((history?["epochs"] as? [Any])?.count == 2)
        let svg = try String(contentsOf: outcome.curve, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") || svg.contains("<svg"))
        #expect(FileManager.default.fileExists(atPath: TrainState.sidecar(of: out).path))

        // Replaying the series through the saved model gives the trainer's own predictions.
        let trainer = try Trainer(config: config, dataset: ds, split: outcome.split, threads: 1)
        try model.load(into: trainer.network)
        let series = FeatureSeries(featureNames: ds.featureNames, count: ds.sampleCount, values: ds.features, firstValid: 0,
                                   timestampsUnix: Array(repeating: 0, count: ds.sampleCount))
        let replayed = try ModelPredictor(model: model, threads: 1).predict(series: series)
        #expect(replayed.count == ds.sampleCount - 5)
        let windows: [Int32] = [0, 10, 500]
        let direct = trainer.predict(windows: windows)
        for (i, w) in windows.enumerated() {
            let end = Int(ds.windowEnds[Int(w)])
            #expect(abs(replayed[end - 5] - direct[i]) <= 1e-4 * max(1, abs(direct[i])))
        }
    }
}
