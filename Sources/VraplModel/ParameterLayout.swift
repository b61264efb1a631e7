import VraplNN

/// The tensors a model of a given architecture must contain, by PyTorch `state_dict` name, with
/// their shapes (Conv1d weight [out, in, k], Linear weight [out, in], BatchNorm vectors [C],
/// `num_batches_tracked` a scalar I64 of shape []), in `state_dict` order.
///
/// Module indices follow DECODE-RAPL's `nn.Sequential` layouts:
/// - CNN encoder: per conv block Conv1d, BatchNorm1d (if used), ReLU; then MaxPool1d; `encoder.mlp`
///   is Linear(C·L/pool → 128), ReLU, Dropout, Linear(128 → latent).
/// - MLP encoder: per hidden layer Linear, ReLU, Dropout; then Linear(→ latent).
/// - Power head: per hidden layer Linear, ReLU, Dropout; then Linear(→ 1).
public enum ParameterLayout {
    /// Width of the CNN encoder's hidden MLP layer (fixed in DECODE-RAPL v4.1).
    public static let cnnEncoderHidden = 128

    public struct Entry: Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        public var dtype: SafetensorsDType
    }

    /// Expected tensors, or a one-line reason why the architecture is not usable.
    public static func expected(for arch: Architecture) throws -> [Entry] {
        var entries: [Entry] = []
        func linear(_ prefix: String, _ input: Int, _ output: Int) {
            entries.append(Entry(name: prefix + ".weight", shape: [output, input], dtype: .f32))
            entries.append(Entry(name: prefix + ".bias", shape: [output], dtype: .f32))
        }
        func positive(_ value: Int?, _ what: String) throws -> Int {
            guard let v = value, v > 0 else { throw ArchitectureError("\(what) must be a positive integer") }
            return v
        }
        guard arch.latentDim > 0 else { throw ArchitectureError("latent_dim must be positive") }
        guard arch.powerHeadLayers.allSatisfy({ $0 > 0 }) else { throw ArchitectureError("power_head_layers must be positive") }

        switch arch.kind {
        case .cnn1d:
            let features = try positive(arch.numFeatures, "num_features")
            let length = try positive(arch.sequenceLength, "sequence_length")
            let kernel = try positive(arch.cnnKernelSize, "cnn_kernel_size")
            let pool = try positive(arch.poolSize, "pool_size")
            guard kernel % 2 == 1 else { throw ArchitectureError("cnn_kernel_size must be odd (padding k/2 keeps the length)") }
            guard let channels = arch.cnnChannels, !channels.isEmpty, channels.allSatisfy({ $0 > 0 }) else {
                throw ArchitectureError("cnn_channels must be a non-empty list of positive integers")
            }
            let batchNorm = arch.useBatchNorm ?? true
            let stride = batchNorm ? 3 : 2
            var input = features
            for (block, output) in channels.enumerated() {
                let conv = "encoder.cnn.\(block * stride)"
                entries.append(Entry(name: conv + ".weight", shape: [output, input, kernel], dtype: .f32))
                entries.append(Entry(name: conv + ".bias", shape: [output], dtype: .f32))
                if batchNorm {
                    let bn = "encoder.cnn.\(block * stride + 1)"
                    for part in ["weight", "bias", "running_mean", "running_var"] {
                        entries.append(Entry(name: "\(bn).\(part)", shape: [output], dtype: .f32))
                    }
                    entries.append(Entry(name: bn + ".num_batches_tracked", shape: [], dtype: .i64))
                }
                input = output
            }
            let pooled = length / pool
            guard pooled > 0 else { throw ArchitectureError("sequence_length \(length) is shorter than pool_size \(pool)") }
            linear("encoder.mlp.0", input * pooled, cnnEncoderHidden)
            linear("encoder.mlp.3", cnnEncoderHidden, arch.latentDim)
        case .mlp:
            var input = try positive(arch.inputDim, "input_dim")
            let layers = arch.encoderLayers ?? []
            guard layers.allSatisfy({ $0 > 0 }) else { throw ArchitectureError("encoder_layers must be positive") }
            for (i, width) in layers.enumerated() {
                linear("encoder.network.\(3 * i)", input, width)
                input = width
            }
            linear("encoder.network.\(3 * layers.count)", input, arch.latentDim)
        }
        var input = arch.latentDim
        for (i, width) in arch.powerHeadLayers.enumerated() {
            linear("power_head.network.\(3 * i)", input, width)
            input = width
        }
        linear("power_head.network.\(3 * arch.powerHeadLayers.count)", input, 1)
        return entries
    }
}

/// Why an architecture cannot be built.
public struct ArchitectureError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
