import Foundation
import VraplCore
import VraplModel
import VraplDataset
import VraplNN

/// A whole `vrapl train` run: split, train with validation each epoch, best-validation checkpoint
/// (model file + `.state` sidecar), test metrics, training statistics, history JSON, SVG curve and
/// the Markdown model card beside the model.
///
/// Files for `--out DIR/NAME.safetensors`: `NAME.safetensors` (best validation weights, rewritten at
/// every new best and finally with test metrics and training statistics), `NAME.safetensors.state`
/// (resume state of that checkpoint), `NAME.history.json`, `NAME.training.svg`, `NAME.md`.
public struct TrainingSession {
    public var config: TrainConfig
    public var dataset: WindowDataset
    public var provenance: [TraceProvenance]
    public var threads: Int
    public var output: URL
    public var resume: URL?
    public var commandLine: String
    /// Progress lines (one per epoch, plus notes) go here.
    public var log: (String) -> Void

    public init(config: TrainConfig, dataset: WindowDataset, provenance: [TraceProvenance], threads: Int, output: URL,
                resume: URL? = nil, commandLine: String = "", log: @escaping (String) -> Void = { _ in }) {
        self.config = config; self.dataset = dataset; self.provenance = provenance; self.threads = threads
        self.output = output; self.resume = resume; self.commandLine = commandLine; self.log = log
    }

    public struct Outcome: Sendable {
        public var model: URL
        public var card: URL
        public var history: URL
        public var curve: URL
        public var epochs: [EpochRecord]
        public var bestEpoch: Int
        public var validation: RegressionMetrics
        public var test: RegressionMetrics
        public var split: DatasetSplit
        public var trainSeconds: Double
    }

    /// Companion file `NAME<suffix>` beside the model.
    public static func companion(of model: URL, suffix: String) -> URL {
        model.deletingPathExtension().appendingPathExtension(suffix.hasPrefix(".") ? String(suffix.dropFirst()) : suffix)
    }

    /// The combined power source label of the data: `rapl` only if every input is RAPL; otherwise the
    /// first simulated profile (a model trained on any simulated data must never look real).
    public static func powerSource(of dataset: WindowDataset) -> PowerSource {
        dataset.powerSources.first(where: \.isSimulated) ?? .rapl
    }

    public func run() throws -> Outcome {
        let started = Date()
        var data = dataset
        if let cap = config.maxSamples, cap < data.windowCount {
            data = data.limited(toWindows: cap, seed: config.seed)
            log("using \(cap) of \(dataset.windowCount) windows (seeded subsample, max_samples)")
        }
        guard data.windowCount > 0 else {
            throw VraplError("\(data.traces.map(\.name).joined(separator: ", ")): no complete window of \(config.d) samples "
                             + "(τ \(config.tau)) in \(data.sampleCount) samples: record longer traces. No model written.")
        }
        let split = try DatasetSplit.make(dataset: data, options: config.split)
        log("split \(config.split.kind.rawValue): train \(split.train.count), validation \(split.validation.count), test \(split.test.count) windows")
        // Every part the config asks for needs a window, or its metrics are NaN: refuse before any file is written.
        let parts = [("training", split.train.count, true), ("validation", split.validation.count, config.split.validationFraction > 0),
                     ("test", split.test.count, config.split.testFraction > 0)]
        if let empty = parts.first(where: { $0.2 && $0.1 == 0 }) {
            throw VraplError("\(data.traces.map(\.name).joined(separator: ", ")): \(data.windowCount) windows are too few: the "
                             + "\(config.split.kind.rawValue) split leaves no \(empty.0) window (train \(split.train.count), "
                             + "validation \(split.validation.count), test \(split.test.count)); record longer traces. No model written.")
        }
        let trainer = try Trainer(config: config, dataset: data, split: split, threads: threads)
        let source = Self.powerSource(of: data)
        let stateURL = TrainState.sidecar(of: output)
        var firstEpoch = 0
        if let resume {
            firstEpoch = try trainer.resume(from: resume)
            log("resumed from \(resume.path) at epoch \(firstEpoch + 1) (lr \(trainer.optimizer.learningRate))")
        }
        // One line per epoch: samples trained (rate and ETA over the whole run so far, validation included).
        let perEpoch = Double(split.train.count)
        let reporter = ProgressReporter(label: "train", total: Double(max(0, config.epochs - firstEpoch)) * perEpoch,
                                        unit: "samples", logEvery: 0, forceTerminal: false)
        var epoch = firstEpoch
        while epoch < config.epochs && !(epoch > firstEpoch && trainer.shouldStop) {
            let (r, isBest) = trainer.runEpoch(epoch)
            if isBest {
                let model = try trainer.modelFile(powerSource: source, provenance: try provenanceJSON(split: split),
                                                  metrics: "{}", trainingStats: nil, name: output.deletingPathExtension().lastPathComponent)
                try model.write(to: output)
                try TrainState(trainer: trainer, nextEpoch: epoch + 1).write(to: stateURL)
            }
            let line = String(format: "epoch %d/%d loss %.4f val %.4f MAE %.3f W R² %.4f lr %.2e %.0f samples/s%@",
                              epoch + 1, config.epochs, r.trainLoss, r.validation.loss, r.validation.mae, r.validation.r2 ?? .nan,
                              r.learningRate, r.samplesPerSecond, isBest ? " *" : "")
            reporter.update(done: Double(epoch + 1 - firstEpoch) * perEpoch, extra: line)
            epoch += 1
        }
        if trainer.shouldStop { log("early stopping: no validation improvement for \(config.earlyStoppingPatience) epochs") }
        trainer.restoreBest()
        let validation = trainer.evaluate(windows: split.validation)
        let test = trainer.evaluate(windows: split.test)
        log(String(format: "best epoch %d: validation MAE %.3f W R² %.4f; test MAE %.3f W RMSE %.3f W R² %.4f (%d windows)",
                   trainer.bestEpoch + 1, validation.mae, validation.r2 ?? .nan, test.mae, test.rmse, test.r2 ?? .nan, test.count))
        let stats = trainer.trainingStats()
        // The prediction interval, calibrated on the validation windows (the model was selected on
        // them, but never fitted to them); its coverage on the test windows is logged.
        var interval: PredictionInterval?
        if split.validation.count >= 20 {
            func targets(_ ws: [Int32]) -> [Double] { ws.map { Double(data.targets[Int(data.windowEnds[Int($0)])]) } }
            let validationPredictions = trainer.predict(windows: split.validation).map(Double.init)
            // Normalized by the local spread of training power (the reference set: training windows),
            // Mondrian bins by predicted power where the training set is too small for one.
            let index = LocalSpread.reference(dataset: data, train: split.train)?.makeIndex()
            if let index {
                interval = PredictionInterval.calibrateNormalized(predictions: validationPredictions, targets: targets(split.validation),
                                                                  spreads: index.spreads(dataset: data, windows: split.validation),
                                                                  local: index.reference, nominal: config.intervalLevel)
            } else {
                interval = PredictionInterval.calibrate(predictions: validationPredictions, targets: targets(split.validation),
                                                        nominal: config.intervalLevel)
            }
            if let interval, !split.test.isEmpty {
                let p = trainer.predict(windows: split.test).map(Double.init), y = targets(split.test)
                let spreads = index?.spreads(dataset: data, windows: split.test)
                var inside = 0, width = 0.0
                for (i, (pi, yi)) in zip(p, y).enumerated() {
                    let b = interval.bounds(pi, spread: spreads?[i])
                    if yi >= b.low && yi <= b.high { inside += 1 }
                    width += b.high - b.low
                }
                log(String(format: "interval %.0f %% (", interval.nominal * 100) + interval.method
                    + String(format: " on %d validation windows): test coverage %.1f %%, mean width %.2f W",
                             interval.calibrationWindows, Double(inside) / Double(p.count) * 100, width / Double(p.count)))
            }
        }
        let trainSeconds = Date().timeIntervalSince(started)
        let metrics = MetricsSummary(split: config.split.kind, bestEpoch: trainer.bestEpoch + 1,
                                     epochsRun: trainer.history.count, validation: validation, test: test,
                                     powerSource: source)
        var model = try trainer.modelFile(powerSource: source, provenance: try provenanceJSON(split: split),
                                          metrics: try metrics.json(), trainingStats: stats,
                                          name: output.deletingPathExtension().lastPathComponent)
        model.interval = interval
        try model.write(to: output)
        try TrainState(trainer: trainer, nextEpoch: trainer.bestEpoch + 1).write(to: stateURL)

        let historyURL = Self.companion(of: output, suffix: "history.json")
        let curveURL = Self.companion(of: output, suffix: "training.svg")
        let cardURL = Self.companion(of: output, suffix: "md")
        try TrainingReport.writeHistory(trainer.history, config: config, metrics: metrics, to: historyURL)
        try TrainingReport.curve(trainer.history, title: "\(config.name) training (\(source.shortLabel))").write(to: curveURL.path)
        let card = TrainingReport.modelCard(
            modelName: output.lastPathComponent, config: config, dataset: data, provenance: provenance, split: split,
            powerSource: source, history: trainer.history, metrics: metrics, network: trainer.network,
            threads: threads, seconds: trainSeconds, commandLine: commandLine,
            files: [output, stateURL, historyURL, curveURL].map(\.lastPathComponent))
        do { try card.write(to: cardURL, atomically: true, encoding: .utf8) } catch {
            throw VraplError("\(cardURL.path): cannot write model card: \(error.localizedDescription)")
        }
        return Outcome(model: output, card: cardURL, history: historyURL, curve: curveURL, epochs: trainer.history,
                       bestEpoch: trainer.bestEpoch, validation: validation, test: test, split: split, trainSeconds: trainSeconds)
    }

    func provenanceJSON(split: DatasetSplit) throws -> String {
        try TrainingProvenance(tool: "vrapl \(VraplVersion.string)", config: config.name, command: commandLine,
                               created: ISO8601DateFormatter().string(from: Date()), traces: provenance,
                               split: config.split.kind, seed: config.split.seed,
                               stratify: config.split.kind == .segment && config.split.stratifyByDesign ? "design" : nil,
                               validationFraction: config.split.validationFraction, testFraction: config.split.testFraction,
                               heldOut: split.heldOut,
                               windows: .init(train: split.train.count, validation: split.validation.count, test: split.test.count)).json()
    }
}
