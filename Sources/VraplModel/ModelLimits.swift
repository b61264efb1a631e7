import VraplNN

/// The documented bounds of every number in a model's metadata (docs/model-format.md, "Bounds").
/// A model is checked against them before anything is allocated from its numbers, so a file that
/// asks for a 384 TB window or a zero sample interval gets a one-line error naming the key, the value
/// and the bound instead of a crash. The bounds are generous: DECODE-RAPL's largest model is far
/// inside every one.
public enum ModelLimits {
    /// A closed range of allowed values for one metadata key.
    public struct Bound<Value: Comparable & Sendable>: Sendable {
        public let key: String
        public let range: ClosedRange<Value>
    }

    public static let embeddingD = Bound(key: "embedding.d", range: 1...4096)
    public static let embeddingTau = Bound(key: "embedding.tau", range: 1...10_000)
    /// Milliseconds: from the collector's shortest interval to a minute.
    public static let sampleIntervalMs = Bound(key: "embedding.sample_interval_ms", range: 1.0...60_000.0)
    /// Samples a live window may span, (d − 1)·τ + 1.
    public static let windowSpan = Bound(key: "embedding window span (d − 1)·tau + 1", range: 1...1_000_000)
    public static let numFeatures = Bound(key: "architecture.num_features", range: 1...64)
    public static let sequenceLength = Bound(key: "architecture.sequence_length", range: 1...4096)
    public static let kernelSize = Bound(key: "architecture.cnn_kernel_size", range: 1...255)
    public static let layerCount = 1...8
    public static let layerWidth = 1...8192
    public static let inputDim = Bound(key: "architecture.input_dim", range: 1...262_144)
    public static let latentDim = Bound(key: "architecture.latent_dim", range: 1...8192)
    public static let dropout = Bound(key: "architecture.dropout", range: 0.0...0.999)
    /// Weights of the whole network (float32: 400 MB).
    public static let parameterCount = Bound(key: "parameter count", range: 1...100_000_000)

    /// Checks one value; the error reads "embedding.tau 1000000000000 is outside 1…10000".
    public static func check<Value>(_ value: Value, _ bound: Bound<Value>) throws {
        guard bound.range.contains(value) else {
            throw ArchitectureError("\(bound.key) \(value) is outside \(bound.range.lowerBound)…\(bound.range.upperBound)")
        }
    }

    public static func check(_ value: Double, _ bound: Bound<Double>) throws {
        guard value.isFinite, bound.range.contains(value) else {
            throw ArchitectureError("\(bound.key) \(value) is outside \(bound.range.lowerBound)…\(bound.range.upperBound)")
        }
    }

    /// A list of layer widths under `key`: 1…8 layers (0 allowed where `allowEmpty`), each 1…8192 wide.
    static func checkLayers(_ widths: [Int], key: String, allowEmpty: Bool) throws {
        if !(allowEmpty && widths.isEmpty) {
            guard layerCount.contains(widths.count) else {
                throw ArchitectureError("\(key) has \(widths.count) layers, outside \(layerCount.lowerBound)…\(layerCount.upperBound)")
            }
        }
        for (i, width) in widths.enumerated() where !layerWidth.contains(width) {
            throw ArchitectureError("\(key)[\(i)] \(width) is outside \(layerWidth.lowerBound)…\(layerWidth.upperBound)")
        }
    }

    /// Every bound of an embedding and an architecture, before any size is computed from them.
    public static func validate(embedding: Embedding, architecture arch: Architecture) throws {
        try check(embedding.d, embeddingD)
        try check(embedding.tau, embeddingTau)
        try check(embedding.sampleIntervalMs, sampleIntervalMs)
        try check((embedding.d - 1) * embedding.tau + 1, windowSpan)  // no overflow within the two bounds above
        switch arch.kind {
        case .cnn1d:
            try check(arch.numFeatures ?? 0, numFeatures)
            let length = arch.sequenceLength ?? 0
            try check(length, sequenceLength)
            try checkLayers(arch.cnnChannels ?? [], key: "architecture.cnn_channels", allowEmpty: false)
            try check(arch.cnnKernelSize ?? 0, kernelSize)  // may exceed the length: convolutions pad
            if let pool = arch.poolSize, !(1...length).contains(pool) {
                throw ArchitectureError("architecture.pool_size \(pool) is outside 1…\(length) (1…sequence_length)")
            }
        case .mlp:
            try check(arch.inputDim ?? 0, inputDim)
            try checkLayers(arch.encoderLayers ?? [], key: "architecture.encoder_layers", allowEmpty: true)
        }
        try check(arch.latentDim, latentDim)
        try checkLayers(arch.powerHeadLayers, key: "architecture.power_head_layers", allowEmpty: true)
        try check(arch.dropout, dropout)
    }
}
