import ArgumentParser
import Foundation
import VraplCore
import VraplModel

/// `vrapl import-model CHECKPOINT.pt --out MODEL.safetensors`: a DECODE-RAPL checkpoint as a vrapl
/// model, read without torch and without running pickle code (docs/model-format.md).
struct ImportModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-model",
        abstract: "Import a DECODE-RAPL checkpoint (train.py's torch.save file) as a vrapl model, without torch.",
        discussion: """
        The model runs as DECODE-RAPL trained it: windows oldest sample first (embedding.order = \
        oldest_first) and scaled inputs clipped to [0, 1] (normalization.clip = true). \
        --order newest-first gives DECODE-RAPL's own inference instead (its live predictor feeds its \
        models the time-reversal of their training windows). Only the four classes a checkpoint needs \
        are built from the pickle; anything else is refused.
        """
    )

    @Argument(help: "The checkpoint (.pt) written by DECODE-RAPL's src/train.py.")
    var checkpoint: String

    @Option(help: "The vrapl model file to write (.safetensors).")
    var out: String

    @Option(help: "What the checkpoint was trained on: rapl or sim:<profile>.")
    var powerSource: PowerSource = .rapl

    @Option(help: "Window layout: oldest-first (as DECODE-RAPL trains) or newest-first (as its inference runs).")
    var order: String = "oldest-first"

    @Option(help: "Model name (default: the checkpoint's file name).")
    var name: String?

    func run() throws {
        var model = try DecodeRaplCheckpoint.importModel(path: checkpoint, powerSource: powerSource, name: name)
        switch order {
        case "oldest-first", "oldest_first": model.embedding.order = .oldestFirst
        case "newest-first", "newest_first": model.embedding.order = .newestFirst
        default: throw ValidationError("--order must be oldest-first or newest-first, not '\(order)'")
        }
        try model.write(to: URL(fileURLWithPath: out))
        FileHandle.standardError.write(Data(("\(checkpoint) → \(out): \(model.architecture.kind.rawValue), d \(model.embedding.d), τ \(model.embedding.tau), "
            + "\(model.tensors.count) tensors, order \(model.embedding.order?.rawValue ?? "newest_first"), clip \(model.normalization.clip ?? false), power \(model.powerSource)\n").utf8))
    }
}
