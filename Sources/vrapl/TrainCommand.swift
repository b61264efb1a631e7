import ArgumentParser
import Foundation
import VraplCore
import VraplDataset
import VraplModel
import VraplTraining

/// `vrapl train`: traces → features → windows → model file, with a model card beside it.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a power model on recorded or simulated traces.",
        discussion: """
        Reads every .h5 trace (and DECODE-RAPL .csv with package_power_watts) given by --data (files, \
        directories, globs), derives the config's features, and trains with a validation pass per epoch. \
        Writes the best-validation model (OUT), its resume state (OUT.state), NAME.history.json, \
        NAME.training.svg and the model card NAME.md beside it.
        """)

    @Option(name: .long, help: "Training config (YAML), e.g. configs/v4_tau1.yaml.")
    var config: String

    @Option(name: .long, parsing: .upToNextOption, help: "Trace files, directories or globs.")
    var data: [String]

    @Option(name: .long, help: "Output model file (.safetensors).")
    var out: String

    @Option(name: .long, help: "Threads for training (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "Resume from a checkpoint written by an earlier run (its .state sidecar must be beside it).")
    var resume: String?

    @Option(name: .long, help: "Override the split.")
    var split: SplitKind?

    @Option(name: .long, help: "Family to hold out with --split family.")
    var holdoutFamily: String?

    @Option(name: .long, help: "Override the number of epochs.")
    var epochs: Int?

    @Option(name: .long, help: "Use at most N windows (seeded subsample).")
    var maxSamples: Int?

    @Option(name: .long, help: "Power source of .csv inputs: rapl (DECODE-RAPL's collector, default) or sim:<profile>.")
    var csvPowerSource: PowerSource = .rapl

    func run() throws {
        let csvSource = csvPowerSource
        var cfg = try TrainConfig.load(path: config)
        if let split { cfg.split.kind = split }
        if let holdoutFamily { cfg.split.holdoutFamily = holdoutFamily }
        if let epochs { cfg.epochs = epochs }
        if let maxSamples { cfg.maxSamples = maxSamples }
        try cfg.validate(source: config)
        let threadCount = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

        let files = try DatasetLoader.expand(data)
        log("loading \(files.count) file(s), features \(cfg.featureSet.name), d \(cfg.d), tau \(cfg.tau)")
        let (dataset, provenance) = try DatasetLoader.load(paths: files, featureSet: cfg.featureSet, options: cfg.windowOptions,
                                                                csvPowerSource: csvSource, log: log)
        log("\(dataset.sampleCount) samples, \(dataset.windowCount) windows; \(cfg.name): \(cfg.architectureKind.rawValue), \(cfg.epochs) epochs, batch \(cfg.batchSize), \(threadCount) thread(s)")
        let outURL = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: outURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw VraplError("\(outURL.deletingLastPathComponent().path): cannot create the output directory: \(error.localizedDescription)")
        }
        // Create the output folder and check it is writable before any training time is spent.
        let outDir = outURL.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        } catch {
            throw VraplError("\(outDir.path): cannot create the output directory: \(error.localizedDescription)")
        }
        guard FileManager.default.isWritableFile(atPath: outDir.path) else {
            throw VraplError("\(outDir.path): output directory is not writable")
        }
        let session = TrainingSession(config: cfg, dataset: dataset, provenance: provenance, threads: threadCount,
                                      output: outURL, resume: resume.map { URL(fileURLWithPath: $0) },
                                      commandLine: (["vrapl"] + CommandLine.arguments.dropFirst()).joined(separator: " "), log: log)
        let outcome = try session.run()
        print("model: \(outcome.model.path)")
        print("card: \(outcome.card.path)")
        print(String(format: "test: MAE %.3f W, RMSE %.3f W, R² %.4f over %d windows (%@ split, power %@)",
                     outcome.test.mae, outcome.test.rmse, outcome.test.r2 ?? .nan, outcome.test.count, cfg.split.kind.rawValue,
                     TrainingSession.powerSource(of: dataset).description))
    }
}
