/// The model architecture, exactly as stored in a model file's `architecture` metadata (JSON,
/// snake_case keys, DECODE-RAPL's names). Two kinds: the v4.1 1D-CNN and the v3 MLP.
///
/// CNN (`kind: "cnn1d"`), input `[batch, numFeatures, sequenceLength]`:
/// `encoder.cnn.0` Conv1d(F→32, k5, pad2) · `encoder.cnn.1` BatchNorm1d(32) · ReLU ·
/// `encoder.cnn.3` Conv1d(32→64, k5, pad2) · `encoder.cnn.4` BatchNorm1d(64) · ReLU · MaxPool1d(2) ·
/// flatten (64×12) · `encoder.mlp.0` Linear(768→128) · ReLU · Dropout · `encoder.mlp.3` Linear(128→64)
/// = latent; `power_head.network.0` Linear(64→128) · ReLU · Dropout · `power_head.network.3`
/// Linear(128→64) · ReLU · Dropout · `power_head.network.6` Linear(64→1).
///
/// MLP (`kind: "mlp"`), input `[batch, inputDim]`: `encoder.network.*` Linear/ReLU/Dropout blocks
/// over `encoderLayers`, then Linear(→latentDim); same power head.
public struct Architecture: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case cnn1d, mlp }

    public var kind: Kind
    // cnn1d
    public var numFeatures: Int?
    public var sequenceLength: Int?
    public var cnnChannels: [Int]?
    public var cnnKernelSize: Int?
    public var poolSize: Int?
    public var useBatchNorm: Bool?
    // mlp
    public var inputDim: Int?
    public var encoderLayers: [Int]?
    // both
    public var latentDim: Int
    public var powerHeadLayers: [Int]
    public var dropout: Double

    enum CodingKeys: String, CodingKey {
        case kind
        case numFeatures = "num_features"
        case sequenceLength = "sequence_length"
        case cnnChannels = "cnn_channels"
        case cnnKernelSize = "cnn_kernel_size"
        case poolSize = "pool_size"
        case useBatchNorm = "use_batch_norm"
        case inputDim = "input_dim"
        case encoderLayers = "encoder_layers"
        case latentDim = "latent_dim"
        case powerHeadLayers = "power_head_layers"
        case dropout
    }

    /// The v4.1 CNN of DECODE-RAPL: 4 features × 25 steps, channels [32, 64], k 5, pool 2, BN, latent 64.
    public static func cnnV41(numFeatures: Int = 4, sequenceLength: Int = 25) -> Architecture {
        Architecture(kind: .cnn1d, numFeatures: numFeatures, sequenceLength: sequenceLength,
                     cnnChannels: [32, 64], cnnKernelSize: 5, poolSize: 2, useBatchNorm: true,
                     inputDim: nil, encoderLayers: nil, latentDim: 64, powerHeadLayers: [128, 64], dropout: 0.3)
    }

    /// The v3 MLP of DECODE-RAPL: 100 inputs, encoder [512, 128], latent 64.
    public static func mlpV3(inputDim: Int = 100) -> Architecture {
        Architecture(kind: .mlp, numFeatures: nil, sequenceLength: nil, cnnChannels: nil, cnnKernelSize: nil,
                     poolSize: nil, useBatchNorm: nil, inputDim: inputDim, encoderLayers: [512, 128],
                     latentDim: 64, powerHeadLayers: [128, 64], dropout: 0.3)
    }

    /// Number of scalar inputs per window (features × sequence length for the CNN).
    public var inputSize: Int {
        switch kind {
        case .cnn1d: return (numFeatures ?? 0) * (sequenceLength ?? 0)
        case .mlp: return inputDim ?? 0
        }
    }
}
