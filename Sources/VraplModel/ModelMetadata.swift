/// The typed parts of a model file's `__metadata__` (see docs/model-format.md). Each is stored as a
/// JSON string under a fixed key, with DECODE-RAPL's own names.

/// Delay embedding: a window holds `d` samples per feature, `tau` samples apart, sampled every
/// `sample_interval_ms` milliseconds. `{"d": 25, "tau": 1, "sample_interval_ms": 16}`.
public struct Embedding: Codable, Equatable, Sendable {
    public var d: Int
    public var tau: Int
    public var sampleIntervalMs: Double

    public init(d: Int, tau: Int, sampleIntervalMs: Double) {
        self.d = d
        self.tau = tau
        self.sampleIntervalMs = sampleIntervalMs
    }

    enum CodingKeys: String, CodingKey {
        case d, tau
        case sampleIntervalMs = "sample_interval_ms"
    }

    /// Samples a live window spans: (d − 1)·τ + 1.
    public var spanSamples: Int { (d - 1) * tau + 1 }
}

/// Min-max scaling per input position: x' = (x − min) / range. A range of 0 is treated as 1, as
/// scikit-learn's `MinMaxScaler` does. `{"type": "minmax", "feature_min": [...], "feature_range": [...]}`.
public struct Normalization: Codable, Equatable, Sendable {
    public var type: String
    public var featureMin: [Double]
    public var featureRange: [Double]

    public init(type: String = "minmax", featureMin: [Double], featureRange: [Double]) {
        self.type = type
        self.featureMin = featureMin
        self.featureRange = featureRange
    }

    enum CodingKeys: String, CodingKey {
        case type
        case featureMin = "feature_min"
        case featureRange = "feature_range"
    }

    /// The divisor used for position `i` (range, or 1 where the range is 0).
    public func divisor(_ i: Int) -> Double { featureRange[i] == 0 ? 1 : featureRange[i] }
}

/// The metadata keys of a vrapl model file.
public enum ModelMetadataKey {
    public static let format = "format"
    public static let formatVersion = "format_version"
    public static let architecture = "architecture"
    public static let features = "features"
    public static let embedding = "embedding"
    public static let normalization = "normalization"
    public static let target = "target"
    public static let powerSource = "power_source"
    public static let provenance = "provenance"
    public static let metrics = "metrics"
    public static let trainingStats = "training_stats"
    /// Optional human-readable model name (defaults to the file name without extension).
    public static let name = "name"

    /// Keys every model must have.
    public static let required = [format, formatVersion, architecture, features, embedding, normalization, target, powerSource]
}
