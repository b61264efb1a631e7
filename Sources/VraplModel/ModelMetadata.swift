/// The typed parts of a model file's `__metadata__` (see docs/model-format.md). Each is stored as a
/// JSON string under a fixed key, with DECODE-RAPL's own names.

import VraplCore
import VraplDataset

/// Delay embedding: a window holds `d` samples per feature, `tau` samples apart, sampled every
/// `sample_interval_ms` milliseconds. `{"d": 25, "tau": 1, "sample_interval_ms": 16}`; optional
/// `"order": "newest_first" | "oldest_first"` (absent: newest first, every vrapl model).
public struct Embedding: Codable, Equatable, Sendable {
    public var d: Int
    public var tau: Int
    public var sampleIntervalMs: Double
    /// The window layout the model was trained on; nil means newest first (and is not written).
    public var order: WindowOrder?

    public init(d: Int, tau: Int, sampleIntervalMs: Double, order: WindowOrder? = nil) {
        self.d = d
        self.tau = tau
        self.sampleIntervalMs = sampleIntervalMs
        self.order = order
    }

    enum CodingKeys: String, CodingKey {
        case d, tau, order
        case sampleIntervalMs = "sample_interval_ms"
    }

    /// Samples a live window spans: (d − 1)·τ + 1.
    public var spanSamples: Int { (d - 1) * tau + 1 }
}

/// Min-max scaling per input position: x' = (x − min) / range, with DECODE-RAPL's own per-position
/// min and range arrays; a range of 0 is treated as 1. Optional `"clip": true` clips x' to [0, 1]. `{"type": "minmax", "feature_min": [...], "feature_range": [...]}`.
public struct Normalization: Codable, Equatable, Sendable {
    public var type: String
    public var featureMin: [Double]
    public var featureRange: [Double]
    /// Clip scaled inputs to [0, 1] (DECODE-RAPL's inference does); nil means no (and is not written).
    public var clip: Bool?

    public init(type: String = "minmax", featureMin: [Double], featureRange: [Double], clip: Bool? = nil) {
        self.type = type
        self.featureMin = featureMin
        self.featureRange = featureRange
        self.clip = clip
    }

    enum CodingKeys: String, CodingKey {
        case type, clip
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
    /// Optional: the host a guest-shaped model was trained for (`GuestShape`); absent = whole-host model.
    public static let guestShape = "guest_shape"
    /// Optional: the calibrated prediction interval (`PredictionInterval`); absent: "interval n/a".
    public static let interval = "interval"
    /// Optional: where the busy percentages come from (`BusyTimeSource`); absent: `proc-stat`.
    public static let busySource = "busy_source"

    /// Keys every model must have.
    public static let required = [format, formatVersion, architecture, features, embedding, normalization, target, powerSource]
}

extension ModelFile {
    /// The window layout of this model for the window builders (training's, the guest's ring, replay).
    public var delayEmbedding: DelayEmbedding {
        DelayEmbedding(d: embedding.d, tau: embedding.tau, order: embedding.order ?? .newestFirst)
    }

    /// This model's input scaling (the one place a scaler is made from a model file).
    public func makeScaler() -> MinMaxScaler {
        MinMaxScaler(featureMin: normalization.featureMin.map { Float($0) }, featureRange: normalization.featureRange.map { Float($0) },
                     clip: normalization.clip ?? false)
    }
}

/// What a guest-shaped model was trained for (`guest_shape` key): the host (threads, cores, sockets,
/// CPU model, P_idle), the range of guest sizes k it saw and the share rule of its target.
/// `{"host": {"threads": 20, "cpu_model": "…", "idle_watts": 24.571}, "vcpus_min": 1, "vcpus_max": 20,
/// "rule": "idle-by-allocation"}`. A model without it is a whole-host model (every DECODE-RAPL
/// checkpoint): it estimates the power of the machine whose counters it reads.
public struct GuestShape: Codable, Equatable, Sendable {
    public var host: HostShape
    public var vcpusMin: Int
    public var vcpusMax: Int
    public var rule: ShareRule

    public init(host: HostShape, vcpus: ClosedRange<Int>, rule: ShareRule) {
        self.host = host; self.vcpusMin = vcpus.lowerBound; self.vcpusMax = vcpus.upperBound; self.rule = rule
    }

    enum CodingKeys: String, CodingKey {
        case host, rule
        case vcpusMin = "vcpus_min"
        case vcpusMax = "vcpus_max"
    }

    public var vcpus: ClosedRange<Int> { vcpusMin...max(vcpusMin, vcpusMax) }

    /// Checks the host and the k range (1 ≤ min ≤ max ≤ threads).
    public func validate() throws {
        try host.validate()
        guard vcpusMin >= 1, vcpusMin <= vcpusMax, vcpusMax <= host.threads else {
            throw VraplError("guest_shape vcpus \(vcpusMin)…\(vcpusMax) must lie within 1…\(host.threads) (the host's threads)")
        }
    }
}
