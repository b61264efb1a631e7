/// One entry of the network's PyTorch `state_dict`: its name (e.g. `encoder.cnn.0.weight`), its shape
/// (Conv1d weight [out, in, kernel], Linear weight [out, in]) and where its values live.
public struct NamedTensor: Sendable, Equatable {
    public enum Storage: Sendable, Equatable {
        /// Trainable, at `offset` in `Network.parameters` (and `gradients`, and the AdamW moments).
        case parameter(offset: Int)
        /// A BatchNorm running statistic, at `offset` in `Network.buffers`.
        case buffer(offset: Int)
        /// A BatchNorm `num_batches_tracked` counter (int64 in PyTorch), `Network.batchesTracked[index]`.
        case batchesTracked(index: Int)
    }

    public let name: String
    public let shape: [Int]
    public let storage: Storage

    /// Number of scalars.
    public var count: Int { shape.reduce(1, *) }

    /// True for float32 tensors (everything but `num_batches_tracked`, which is int64).
    public var isFloat: Bool {
        if case .batchesTracked = storage { return false }
        return true
    }
}
