import Dispatch
import VraplCore

/// The trainable model: a v4.1 1D-CNN or a v3 MLP encoder with the power head, built from an
/// `Architecture`, holding its parameters in one flat buffer (gradients and AdamW moments in buffers of
/// the same layout) and activations planned once for a maximum batch size.
///
/// Tensors carry PyTorch's `state_dict` names (`tensors`), so weights load and save by name.
/// Input: `[batch, inputSize]` row-major window vectors, feature-major (positions 0…d−1 are feature 0
/// at t, t−τ, …), which for the CNN is exactly PyTorch's `[batch, features, sequence]` input: the
/// Conv1d channels are the features.
///
/// Threads: a batch is split into `threads` contiguous shards that run forward and backward on their own
/// threads with their own activations and gradient buffers (OpenBLAS itself runs single-threaded);
/// BatchNorm statistics and the gradients are reduced across shards. Results do not depend on the
/// thread count beyond floating-point rounding. Dropout masks are a function of (seed, step, sample).
///
/// Use: `forward(inputs:count:training:)`, then `backward(outputGradient:)` (after a training forward);
/// or `trainStep(inputs:targets:count:loss:optimizer:)`. `predict(window:)` is the allocation-free
/// single-window eval path, with the 64-d `latent` of the last prediction.
public final class Network: @unchecked Sendable {
    public let architecture: Architecture
    /// Largest batch `forward` accepts.
    public let maxBatch: Int
    /// Number of shards (threads) a batch is split into.
    public private(set) var threads: Int

    /// All trainable parameters, in `state_dict` order.
    public let parameters: FloatBuffer
    /// Gradients, same layout as `parameters`. `backward` adds into them; `zeroGradients()` clears them.
    public let gradients: FloatBuffer
    /// BatchNorm running means and variances.
    public let buffers: FloatBuffer
    /// BatchNorm `num_batches_tracked`, one per BatchNorm layer.
    public var batchesTracked: [Int64]
    /// The state_dict: every parameter and buffer, in PyTorch's order.
    public let tensors: [NamedTensor]

    /// Seed of the dropout masks; `dropoutStep` counts training forwards (part of the mask's key).
    public var dropoutSeed: UInt64
    public var dropoutStep: UInt64 = 0

    // Plan.
    let plan: Plan
    var workspace: Workspace
    let single: Workspace
    var shardGradients: [FloatBuffer] = []
    /// Per-shard BatchNorm scratch: [shard][stage][mean, M2, Σdy, Σdy·xhat][maxChannels].
    var shardStats: FloatBuffer
    let lossGradient: FloatBuffer
    var record = ForwardRecord()
    var pool: WorkerPool
    /// The sliding forward's buffers, made on its first use.
    var sliding: SlidingWorkspace?
    /// Whether `predict(inputs:count:into:)` shares the convolution outputs of windows that slide by
    /// one sample (the guest's live batches); off by default, so every other caller runs `forward`.
    public var sharesSlidingWindows = false
    /// Chunks `predict(inputs:count:into:)` ran through the sliding forward so far.
    public internal(set) var slidingPasses = 0
    /// Seconds per compute phase, accumulated while non-nil (set it to `[:]` to start; one thread only).
    public var profile: [String: Double]?

    /// Builds the network with PyTorch's default initialisation (kaiming-uniform a = √5 weights, that is
    /// U(±1/√fan_in), and U(±1/√fan_in) biases; BatchNorm weight 1, bias 0, running mean 0, variance 1),
    /// drawn from a seeded generator.
    ///
    /// - Parameter inferenceOnly: allocate no training buffers (x̂, masks, activation gradients): eval
    ///   `forward` and `predict` only; a training forward or `backward` stops with a precondition.
    public init(architecture: Architecture, maxBatch: Int = 256, threads: Int = 1, seed: UInt64 = 0, inferenceOnly: Bool = false) throws {
        self.architecture = architecture
        self.maxBatch = max(1, maxBatch)
        self.threads = max(1, threads)
        plan = try Plan(architecture: architecture)
        parameters = FloatBuffer(count: plan.parameterCount)
        gradients = FloatBuffer(count: plan.parameterCount)
        buffers = FloatBuffer(count: plan.bufferCount)
        batchesTracked = [Int64](repeating: 0, count: plan.convStages.filter { $0.batchNorm != nil }.count)
        tensors = plan.tensors
        dropoutSeed = seed &+ 0x5EED
        workspace = Workspace(plan: plan, batch: self.maxBatch, shards: self.threads, training: !inferenceOnly)
        single = Workspace(plan: plan, batch: 1, shards: 1, training: !inferenceOnly)
        shardStats = FloatBuffer(count: self.threads * max(1, plan.convStages.count) * 4 * plan.maxChannels)
        lossGradient = FloatBuffer(count: self.maxBatch)
        pool = WorkerPool(size: self.threads)
        for _ in 1..<self.threads { shardGradients.append(FloatBuffer(count: plan.parameterCount)) }
        initialize(seed: seed)
        BLAS.prepare()
        BLAS.setThreads(1)
    }

    /// Changes the number of shards (threads) used by `forward` and `backward`.
    public func setThreads(_ count: Int) {
        threads = max(1, count)
        while shardGradients.count < threads - 1 { shardGradients.append(FloatBuffer(count: plan.parameterCount)) }
        if workspace.shards < threads { workspace = Workspace(plan: plan, batch: maxBatch, shards: threads, training: workspace.trains) }
        if pool.size != threads { pool = WorkerPool(size: threads) }
        if shardStats.count < threads * max(1, plan.convStages.count) * 4 * plan.maxChannels {
            shardStats = FloatBuffer(count: threads * max(1, plan.convStages.count) * 4 * plan.maxChannels)
        }
        BLAS.setThreads(1)
    }

    /// Number of trainable scalars.
    public var parameterCount: Int { plan.parameterCount }

    /// Re-draws every parameter with PyTorch's default distributions from `seed`, resets running stats.
    public func initialize(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        func uniform(_ offset: Int, _ count: Int, bound: Float) {
            for i in 0..<count { parameters[offset + i] = (generator.nextUniform() * 2 - 1) * bound }
        }
        for stage in plan.convStages {
            let bound = 1 / Float(stage.inChannels * stage.kernelSize).squareRoot()
            uniform(stage.weight, stage.outChannels * stage.inChannels * stage.kernelSize, bound: bound)
            uniform(stage.bias, stage.outChannels, bound: bound)
            if let bn = stage.batchNorm {
                for c in 0..<stage.outChannels {
                    parameters[bn.gamma + c] = 1; parameters[bn.beta + c] = 0
                    buffers[bn.runningMean + c] = 0; buffers[bn.runningVariance + c] = 1
                }
            }
        }
        for layer in plan.dense {
            let bound = 1 / Float(layer.inFeatures).squareRoot()
            uniform(layer.weight, layer.outFeatures * layer.inFeatures, bound: bound)
            uniform(layer.bias, layer.outFeatures, bound: bound)
        }
        for i in batchesTracked.indices { batchesTracked[i] = 0 }
    }

    public func zeroGradients() { gradients.zero() }

    // MARK: Named access

    /// The tensor called `name`, or nil.
    public func tensor(named name: String) -> NamedTensor? { tensors.first { $0.name == name } }

    /// A copy of a float tensor's values (for `num_batches_tracked`, the counter as Float).
    public func values(of name: String) throws -> [Float] {
        guard let t = tensor(named: name) else { throw VraplError("network: no tensor named '\(name)'") }
        switch t.storage {
        case .parameter(let offset): return Array(UnsafeBufferPointer(start: parameters.pointer + offset, count: t.count))
        case .buffer(let offset): return Array(UnsafeBufferPointer(start: buffers.pointer + offset, count: t.count))
        case .batchesTracked(let index): return [Float(batchesTracked[index])]
        }
    }

    /// Sets a float tensor's values (count must match its shape).
    public func setValues(of name: String, to values: [Float]) throws {
        guard let t = tensor(named: name) else { throw VraplError("network: no tensor named '\(name)'") }
        guard values.count == t.count else {
            throw VraplError("network: tensor '\(name)' has \(t.count) values (shape \(t.shape)), got \(values.count)")
        }
        switch t.storage {
        case .parameter(let offset): for i in 0..<t.count { parameters[offset + i] = values[i] }
        case .buffer(let offset): for i in 0..<t.count { buffers[offset + i] = values[i] }
        case .batchesTracked(let index): batchesTracked[index] = Int64(values[0])
        }
    }

    /// Pointer to a float tensor's storage (parameters or buffers), or nil for counters / unknown names.
    public func pointer(to name: String) -> UnsafeMutablePointer<Float>? {
        guard let t = tensor(named: name) else { return nil }
        switch t.storage {
        case .parameter(let offset): return parameters.pointer + offset
        case .buffer(let offset): return buffers.pointer + offset
        case .batchesTracked: return nil
        }
    }

    /// Gradient slice of a parameter tensor, or nil.
    public func gradientPointer(to name: String) -> UnsafeMutablePointer<Float>? {
        guard let t = tensor(named: name), case .parameter(let offset) = t.storage else { return nil }
        return gradients.pointer + offset
    }

    /// Sets `num_batches_tracked` of the BatchNorm whose tensors start with `prefix`
    /// (e.g. `encoder.cnn.1`).
    public func setBatchesTracked(_ value: Int64, prefix: String) throws {
        guard let t = tensor(named: prefix + ".num_batches_tracked"), case .batchesTracked(let i) = t.storage else {
            throw VraplError("network: no BatchNorm '\(prefix)'")
        }
        batchesTracked[i] = value
    }
}
