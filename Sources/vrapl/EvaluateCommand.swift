import ArgumentParser
import Foundation
import VraplCore
import VraplDataset
import VraplEval
import VraplSim
import VraplTrace

/// `vrapl evaluate`: honest accuracy figures for a model (splits, live traces, baselines, feature
/// ceiling, generalisation gap, ablation, calibration) as DIR/report.md, DIR/metrics.json and SVGs.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model against baselines and the feature ceiling; write report.md, metrics.json and SVG plots.",
        discussion: """
        The model is scored on the test windows of each --split of --data, next to five baselines fitted on the \
        same split's training windows and the feature ceiling (the error no predictor of the window features can \
        avoid, estimated model-free). --live traces are scored whole, with calibration fitted on their first half. \
        Unless --no-retrain, the same architecture is retrained briefly under every split (generalisation gap) and \
        with each feature left out (ablation). Everything says `sim` when the power source is simulated.
        """)

    @Option(name: .long, help: "Model file (.safetensors).")
    var model: String

    @Option(name: .long, parsing: .upToNextOption, help: "Trace files, directories or globs.")
    var data: [String]

    @Option(name: .long, help: "The splits to score: one, several joined by commas (segment,time), or all.")
    var split: SplitList = SplitList([.segment])

    @Option(name: .long, help: "A live (non-campaign) trace to score whole; repeatable.")
    var live: [String] = []

    @Option(name: .long, help: "Output directory.")
    var out: String

    @Option(name: .long, help: "Seed of the splits and subsamples (default: the model's split is drawn with its training seed from its provenance, the rest with 42).")
    var seed: UInt64?

    @Option(name: .long, help: "Threads (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "Guest-view data: also score this whole-host model on the same windows (guest_size in metrics.json).")
    var wholeHostModel: String?

    @Option(name: .long, parsing: .upToNextOption, help: "Guest views of one host time line (vrapl simulate --co-tenants): how close the sum of their independent estimates lands to the package.")
    var coTenants: [String] = []

    @Option(name: .long, help: "The family the family split holds out (default: the one the model was trained without, from its provenance, else a seeded draw).")
    var holdoutFamily: String?

    @Option(name: .long, help: "The CPU's TDP in W for the published TDP baselines (default: the simulator profile's for sim traces; without one they are not scored).")
    var tdp: Double?

    @Flag(name: .long, help: "Skip the retrains (generalisation gap and feature ablation).")
    var noRetrain = false

    @Flag(name: .long, help: "Skip the feature ablation only.")
    var noAblation = false

    @Option(name: .long, help: "Epochs of each retrain.")
    var retrainEpochs: Int = 4

    @Option(name: .long, help: "Windows of each retrain (seeded subsample; 0 for all).")
    var retrainWindows: Int = 60_000

    @Option(name: .long, help: "First samples of each segment that are never a target (as in training).")
    var skipSamples: Int = 100

    func run() throws {
        let kinds = split.kinds
        let files = try DatasetLoader.expand(data)
        let liveFiles = try live.isEmpty ? [] : DatasetLoader.expand(live)
        var cfg = EvaluationConfig(modelPath: model, dataPaths: files)
        cfg.livePaths = liveFiles
        cfg.splits = kinds
        cfg.seed = seed
        cfg.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        cfg.skipSamples = skipSamples
        cfg.ablation = !noAblation
        cfg.wholeHostModelPath = wholeHostModel
        cfg.coTenantPaths = try coTenants.isEmpty ? [] : DatasetLoader.expand(coTenants)
        cfg.holdoutFamily = holdoutFamily
        if let tdp {
            guard tdp.isFinite, tdp > 0 else { throw ValidationError("--tdp \(tdp): expected a positive power in W") }
            cfg.tdpWatts = tdp; cfg.tdpSource = "--tdp"
        } else if let profile = try Self.simulatedProfile(dataPaths: cfg.dataPaths), let t = profile.tdpWatts {
            cfg.tdpWatts = t; cfg.tdpSource = "simulator profile \(profile.name), tdp_w"
        }
        if !noRetrain {
            var r = RetrainOptions()
            r.epochs = retrainEpochs
            r.maxWindows = retrainWindows > 0 ? retrainWindows : nil
            cfg.retrain = r
        }
        let log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        let started = Date()
        let (report, series) = try Evaluator.run(cfg, log: log)
        try ReportWriter.write(report, series: series, to: out,
                               commandLine: (["vrapl"] + CommandLine.arguments.dropFirst()).joined(separator: " "))
        print(ReportWriter.summaryTable(report), terminator: "")
        print("report: \(out)/report.md, metrics: \(out)/metrics.json (\(String(format: "%.0f", Date().timeIntervalSince(started))) s)")
    }

    /// The simulator profile of the first simulated HDF5 trace among `dataPaths` (nil for real data,
    /// CSV input, or a profile that cannot be loaded).
    static func simulatedProfile(dataPaths: [String]) throws -> SimProfile? {
        for path in dataPaths where path.hasSuffix(".h5") {
            guard let meta = try? TraceReader.readMetadata(path), case .simulated(let name) = meta.powerSource else { continue }
            return try? SimProfile.load(name)
        }
        return nil
    }
}
