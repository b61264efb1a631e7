import Foundation
import VraplCore
import VraplModel
import VraplNN

/// What `--resume` needs beyond the model weights, in a sidecar file next to each checkpoint
/// (`<checkpoint>.state`, itself safetensors so any tool can read it): the AdamW moments
/// (`adamw.m`, `adamw.v`, float32, the network's flat parameter layout) and, as metadata, the step
/// count, learning rate, dropout step, the next epoch and the history so far (whose validation losses
/// are replayed into ReduceLROnPlateau and early stopping, rebuilding their state exactly).
public struct TrainState: Sendable {
    public var nextEpoch: Int
    public var optimizerStep: Int
    public var learningRate: Float
    public var dropoutStep: UInt64
    public var m: [Float]
    public var v: [Float]
    public var history: [EpochRecord]
    public var configName: String

    public static let formatName = "vrapl-train-state"

    /// The sidecar path of a checkpoint.
    public static func sidecar(of checkpoint: URL) -> URL { URL(fileURLWithPath: checkpoint.path + ".state") }

    public init(trainer: Trainer, nextEpoch: Int) {
        self.nextEpoch = nextEpoch
        optimizerStep = trainer.optimizer.step
        learningRate = trainer.optimizer.learningRate
        dropoutStep = trainer.network.dropoutStep
        m = Array(UnsafeBufferPointer(start: trainer.optimizer.m.pointer, count: trainer.optimizer.m.count))
        v = Array(UnsafeBufferPointer(start: trainer.optimizer.v.pointer, count: trainer.optimizer.v.count))
        history = trainer.history
        configName = trainer.config.name
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let meta: [String: String] = [
            "format": Self.formatName, "format_version": "1", "next_epoch": String(nextEpoch),
            "optimizer_step": String(optimizerStep), "learning_rate": String(learningRate),
            "dropout_step": String(dropoutStep), "config": configName,
            "history": String(decoding: try encoder.encode(history), as: UTF8.self),
        ]
        let file = SafetensorsFile(tensors: ["adamw.m": SafetensorsTensor(shape: [m.count], floats: m),
                                             "adamw.v": SafetensorsTensor(shape: [v.count], floats: v)], metadata: meta)
        try file.write(to: url)
    }

    public static func read(from url: URL) throws -> TrainState {
        let file = try SafetensorsFile.read(contentsOf: url)
        let meta = file.metadata
        func fail(_ why: String) -> VraplError { VraplError("\(url.path): not a usable training state: \(why)") }
        guard meta["format"] == formatName else { throw fail("format is not \(formatName)") }
        guard let next = meta["next_epoch"].flatMap({ Int($0) }), let step = meta["optimizer_step"].flatMap({ Int($0) }),
              let lr = meta["learning_rate"].flatMap({ Float($0) }), let dropout = meta["dropout_step"].flatMap({ UInt64($0) }) else {
            throw fail("missing next_epoch, optimizer_step, learning_rate or dropout_step")
        }
        guard let m = file.tensors["adamw.m"]?.floats, let v = file.tensors["adamw.v"]?.floats else {
            throw fail("missing adamw.m or adamw.v")
        }
        let history: [EpochRecord]
        do { history = try JSONDecoder().decode([EpochRecord].self, from: Data((meta["history"] ?? "[]").utf8)) } catch {
            throw fail("history is not valid JSON: \(error)")
        }
        return TrainState(nextEpoch: next, optimizerStep: step, learningRate: lr, dropoutStep: dropout, m: m, v: v,
                          history: history, configName: meta["config"] ?? "")
    }

    init(nextEpoch: Int, optimizerStep: Int, learningRate: Float, dropoutStep: UInt64, m: [Float], v: [Float],
         history: [EpochRecord], configName: String) {
        self.nextEpoch = nextEpoch; self.optimizerStep = optimizerStep; self.learningRate = learningRate
        self.dropoutStep = dropoutStep; self.m = m; self.v = v; self.history = history; self.configName = configName
    }
}

extension Trainer {
    /// Resumes from a checkpoint (model file) and its sidecar state: weights, BatchNorm statistics,
    /// AdamW moments and step, learning rate, dropout step, history (replayed into the schedule and
    /// early stopping). Returns the epoch to continue from.
    public func resume(from checkpoint: URL) throws -> Int {
        let model = try ModelFile.load(contentsOf: checkpoint)
        guard model.architecture == config.architecture else {
            throw VraplError("\(checkpoint.path): its architecture differs from the config's; cannot resume")
        }
        guard model.features == dataset.featureNames else {
            throw VraplError("\(checkpoint.path): its features \(model.features) differ from the config's")
        }
        try model.load(into: network)
        let stateURL = TrainState.sidecar(of: checkpoint)
        let state = try TrainState.read(from: stateURL)
        guard state.m.count == network.parameterCount, state.v.count == network.parameterCount else {
            throw VraplError("\(stateURL.path): optimizer state has \(state.m.count) values, the network \(network.parameterCount)")
        }
        optimizer.restore(step: state.optimizerStep, m: state.m, v: state.v)
        network.dropoutStep = state.dropoutStep
        for record in state.history { apply(record) }
        optimizer.learningRate = state.learningRate
        // The checkpoint's own weights are the best known only if its last epoch was the best; keep
        // them as the fallback either way so a resumed run never ends without weights.
        bestState = captureState()
        return state.nextEpoch
    }
}
