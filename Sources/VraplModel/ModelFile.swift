import Foundation
import VraplCore
import VraplDataset
import VraplNN

/// A vrapl model: weights by PyTorch `state_dict` name plus the metadata that says how to build the
/// network and its input windows (docs/model-format.md).
///
/// Loading validates everything the guest relies on, so a model that loads can be run: format and
/// version, a known architecture, features/embedding/normalisation consistent with it, exactly the
/// expected tensors with the expected shapes and dtypes, finite weights. Unknown metadata keys are
/// kept in `extraMetadata` and otherwise ignored.
public struct ModelFile: Equatable, Sendable {
    public static let formatName = "vrapl-model"
    public static let formatVersion = 1

    public var architecture: Architecture
    /// Feature names in input order.
    public var features: [String]
    public var embedding: Embedding
    public var normalization: Normalization
    public var target: String
    public var powerSource: PowerSource
    /// The `provenance` and `metrics` JSON texts as stored (empty object when absent); setting one
    /// decodes it again into `trainingProvenance` / `trainingMetrics`.
    public var provenance: String { didSet { trainingProvenance = Self.decode(provenance) } }
    public var metrics: String { didSet { trainingMetrics = Self.decode(metrics) } }
    /// `provenance`, typed; nil when it is not what `vrapl train` writes (every field is optional).
    public private(set) var trainingProvenance: TrainingProvenance?
    /// `metrics`, typed; nil when absent or of another shape (an imported checkpoint's).
    public private(set) var trainingMetrics: MetricsSummary?
    /// Statistics for the trust score (nil when the trainer did not store them).
    public var trainingStats: TrainingStats?
    /// Optional `name` key; `displayName` falls back to the file name.
    public var name: String?
    /// A guest-shaped model's host and k range (`guest_shape`); nil: a whole-host model.
    public var guestShape: GuestShape?
    /// The calibrated central prediction interval (`interval`); nil: none ("interval n/a").
    public var interval: PredictionInterval?
    /// Where its busy percentages come from (`busy_source`; absent: /proc/stat ticks).
    public var busySource: BusyTimeSource = .procStat
    /// Weights, by `state_dict` name.
    public var tensors: [String: SafetensorsTensor]
    /// Metadata keys this version does not interpret.
    public var extraMetadata: [String: String] = [:]
    /// SHA-256 of the file bytes, set by `load`.
    public var sha256: String?
    /// Where it was loaded from, set by `load`.
    public var path: String?

    public init(architecture: Architecture, features: [String], embedding: Embedding, normalization: Normalization,
                target: String = "package_power_watts", powerSource: PowerSource, provenance: String = "{}",
                metrics: String = "{}", trainingStats: TrainingStats? = nil, name: String? = nil,
                tensors: [String: SafetensorsTensor]) {
        self.architecture = architecture
        self.features = features
        self.embedding = embedding
        self.normalization = normalization
        self.target = target
        self.powerSource = powerSource
        self.provenance = provenance
        self.metrics = metrics
        self.trainingProvenance = Self.decode(provenance)
        self.trainingMetrics = Self.decode(metrics)
        self.trainingStats = trainingStats
        self.name = name
        self.tensors = tensors
    }

    /// Lenient on purpose: these two texts are free-form for imported models, so a shape we do not
    /// know is nil here, not a load error.
    static func decode<T: Decodable>(_ json: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    /// The feature set that computes this model's inputs: its `features`, busy time from `busySource`.
    public func featureSet() throws -> FeatureSet {
        try FeatureSet(featureNames: features).withBusySource(busySource)
    }

    /// A short name for reports and metrics: `name`, else the file name without extension, else "model".
    public var displayName: String {
        if let name, !name.isEmpty { return name }
        if let path { return URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent }
        return "model"
    }

    /// Window length in input positions per feature (= d).
    public var inputSize: Int { architecture.inputSize }

    // MARK: Loading

    /// Reads, parses and validates a model file. Every error is one line starting with the path.
    public static func load(contentsOf url: URL) throws -> ModelFile {
        let bytes: [UInt8]
        do {
            bytes = try TextFile.readRegularFile(url.path)
        } catch let error as VraplError {
            throw VraplError("\(url.path): cannot read model file: \(error.message)")
        }
        var model = try parse(bytes, source: url.path)
        model.sha256 = SHA256.hex(bytes)
        model.path = url.path
        return model
    }

    /// Parses and validates model bytes; `source` names the file in errors.
    public static func parse(_ bytes: [UInt8], source: String) throws -> ModelFile {
        let file = try SafetensorsFile.parse(bytes, source: source, allowNonFinite: false)
        return try ModelFile(safetensors: file, source: source)
    }

    /// Interprets a parsed safetensors file as a model.
    public init(safetensors file: SafetensorsFile, source: String) throws {
        func fail(_ reason: String) -> VraplError { VraplError("\(source): invalid model: \(reason)") }
        let meta = file.metadata
        for key in ModelMetadataKey.required where meta[key] == nil {
            throw fail("missing required metadata key '\(key)'")
        }
        guard meta[ModelMetadataKey.format] == Self.formatName else {
            throw fail("format is '\(meta[ModelMetadataKey.format] ?? "")', expected '\(Self.formatName)'")
        }
        let versionText = meta[ModelMetadataKey.formatVersion] ?? ""
        guard let version = Int(versionText.trimmingCharacters(in: .whitespaces)), version >= 1 else {
            throw fail("format_version '\(versionText)' is not a positive integer")
        }
        guard version <= Self.formatVersion else {
            throw fail("format_version \(version) is newer than this vrapl supports (\(Self.formatVersion)); upgrade vrapl")
        }

        // Architecture: check the kind first for a clear message, then decode.
        let archText = meta[ModelMetadataKey.architecture] ?? ""
        guard let archJSON = try? JSONValue.parse(archText) else { throw fail("architecture is not valid JSON") }
        guard let kind = archJSON["kind"]?.stringValue else { throw fail("architecture has no 'kind'") }
        guard Architecture.Kind(rawValue: kind) != nil else {
            throw fail("unknown architecture kind '\(kind)' (known: cnn1d, mlp)")
        }
        let architecture: Architecture = try Self.decode(archText, key: "architecture", fail: fail)
        let features: [String] = try Self.decode(meta[ModelMetadataKey.features] ?? "", key: "features", fail: fail)
        let embedding: Embedding = try Self.decode(meta[ModelMetadataKey.embedding] ?? "", key: "embedding", fail: fail)
        let normalization: Normalization = try Self.decode(meta[ModelMetadataKey.normalization] ?? "", key: "normalization", fail: fail)
        let sourceText = meta[ModelMetadataKey.powerSource] ?? ""
        guard let powerSource = PowerSource(parsing: sourceText) else {
            throw fail("power_source '\(sourceText)' is neither 'rapl' nor 'sim:<profile>'")
        }
        var guestShape: GuestShape?
        if let shapeText = meta[ModelMetadataKey.guestShape] {
            let shape: GuestShape = try Self.decode(shapeText, key: "guest_shape", fail: fail)
            do { try shape.validate() } catch let e as VraplError { throw fail(e.message) }
            guestShape = shape
        }
        var interval: PredictionInterval?
        if let text = meta[ModelMetadataKey.interval] {
            let value: PredictionInterval = try Self.decode(text, key: "interval", fail: fail)
            do { try value.validate() } catch let e as VraplError { throw fail(e.message) }
            interval = value
        }
        var busySource = BusyTimeSource.procStat
        if let text = meta[ModelMetadataKey.busySource] {
            do { busySource = try BusyTimeSource(parsing: text) } catch let e as VraplError { throw fail("busy_source: " + e.message) }
        }
        var trainingStats: TrainingStats?
        if let statsText = meta[ModelMetadataKey.trainingStats], !statsText.isEmpty {
            trainingStats = try Self.decode(statsText, key: "training_stats", fail: fail)
        }
        self.init(architecture: architecture, features: features, embedding: embedding, normalization: normalization,
                  target: meta[ModelMetadataKey.target] ?? "", powerSource: powerSource,
                  provenance: meta[ModelMetadataKey.provenance] ?? "{}", metrics: meta[ModelMetadataKey.metrics] ?? "{}",
                  trainingStats: trainingStats, name: meta[ModelMetadataKey.name], tensors: file.tensors)
        self.guestShape = guestShape
        self.interval = interval
        self.busySource = busySource
        if features.contains("vcpu_share") != (guestShape != nil) {
            throw fail(guestShape == nil ? "the features include vcpu_share but the host metadata (guest_shape) is missing"
                                         : "guest_shape is set but the features have no vcpu_share input")
        }
        let known = Set(ModelMetadataKey.required + [ModelMetadataKey.provenance, ModelMetadataKey.metrics,
                                                    ModelMetadataKey.trainingStats, ModelMetadataKey.name, ModelMetadataKey.guestShape, ModelMetadataKey.interval,
                                                    ModelMetadataKey.busySource])
        extraMetadata = meta.filter { !known.contains($0.key) }
        do {
            try validate()
        } catch let error as ArchitectureError {
            throw fail(error.description)
        }
    }

    /// Members of the embedding and architecture objects that hold integers (or lists of them).
    static let integerMembers: Set<String> = ["d", "tau", "num_features", "sequence_length", "cnn_channels", "cnn_kernel_size",
                                              "pool_size", "input_dim", "encoder_layers", "latent_dim", "power_head_layers"]

    /// Names the member whose number cannot be an integer (0.5, 1e39), which JSONDecoder reports only
    /// as "not valid JSON".
    private static func checkIntegers(_ text: String, key: String, fail: (String) -> VraplError) throws {
        guard let members = (try? JSONValue.parse(text))?.objectValue else { return }
        for (name, value) in members where integerMembers.contains(name) {
            let items: [(String, JSONValue)]
            if case .array(let list) = value { items = list.enumerated().map { ("\(name)[\($0.offset)]", $0.element) } } else { items = [(name, value)] }
            for (label, item) in items {
                guard case .number(let x, let text) = item else { continue }
                if Int(text) == nil {
                    throw fail("\(key).\(label) \(x.isFinite ? text : "\(x)") is not an integer within ±9.2e18")
                }
            }
        }
    }

    private static func decode<T: Decodable>(_ text: String, key: String, fail: (String) -> VraplError) throws -> T {
        try checkIntegers(text, key: key, fail: fail)
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch let DecodingError.keyNotFound(codingKey, _) {
            throw fail("\(key) is missing '\(codingKey.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw fail("\(key): wrong type at '\(context.codingPath.map { $0.stringValue }.joined(separator: "."))'")
        } catch let DecodingError.valueNotFound(_, context) {
            throw fail("\(key): null at '\(context.codingPath.map { $0.stringValue }.joined(separator: "."))'")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            // A number that does not fit its type (1e39 or 1e-9 where an integer belongs).
            throw fail("\(key).\(context.codingPath.map { $0.stringValue }.joined(separator: ".")) is not a number of the expected type")
        } catch {
            throw fail("\(key) is not valid JSON of the expected shape")
        }
    }

    /// Consistency of metadata and tensors; throws `ArchitectureError` with a one-line reason.
    public func validate() throws {
        let arch = architecture
        guard target == "package_power_watts" || target == "guest_share_watts" else {
            throw ArchitectureError("target '\(target)' is not supported (expected package_power_watts or guest_share_watts)")
        }
        guard (target == "guest_share_watts") == (guestShape != nil) else {
            throw ArchitectureError(guestShape == nil ? "target guest_share_watts needs the host metadata (guest_shape), which is missing"
                                                      : "a guest-shaped model (guest_shape) must predict guest_share_watts, not \(target)")
        }
        guard !features.isEmpty else { throw ArchitectureError("features is empty") }
        // Every number within its documented bound before any size is computed from it.
        try ModelLimits.validate(embedding: embedding, architecture: arch)
        switch arch.kind {
        case .cnn1d:
            guard arch.numFeatures == features.count else {
                throw ArchitectureError("architecture num_features \(arch.numFeatures ?? 0) ≠ \(features.count) features")
            }
            guard arch.sequenceLength == embedding.d else {
                throw ArchitectureError("architecture sequence_length \(arch.sequenceLength ?? 0) ≠ embedding d \(embedding.d)")
            }
        case .mlp:
            guard arch.inputDim == features.count * embedding.d else {
                throw ArchitectureError("architecture input_dim \(arch.inputDim ?? 0) ≠ \(features.count) features × d \(embedding.d)")
            }
        }
        guard normalization.type == "minmax" else {
            throw ArchitectureError("normalization type '\(normalization.type)' is not supported (expected minmax)")
        }
        let n = arch.inputSize
        guard normalization.featureMin.count == n, normalization.featureRange.count == n else {
            throw ArchitectureError("normalization has \(normalization.featureMin.count) feature_min and \(normalization.featureRange.count) feature_range entries, expected \(n) (features × d)")
        }
        // Scaling runs in float32: a value beyond its range (1e39) would become infinite there.
        let floatMax = Double(Float.greatestFiniteMagnitude)
        for (key, values) in [("feature_min", normalization.featureMin), ("feature_range", normalization.featureRange)] {
            if let i = values.firstIndex(where: { !$0.isFinite || abs($0) > floatMax }) {
                throw ArchitectureError("normalization.\(key)[\(i)] \(values[i]) is outside the float32 range ±3.4e38")
            }
        }
        let expected = try ParameterLayout.expected(for: arch)
        try ModelLimits.check(expected.reduce(0) { $0 + $1.shape.reduce(1, *) }, ModelLimits.parameterCount)
        for entry in expected {
            guard let tensor = tensors[entry.name] else { throw ArchitectureError("missing tensor '\(entry.name)'") }
            guard tensor.shape == entry.shape else {
                throw ArchitectureError("tensor '\(entry.name)' has shape \(tensor.shape), expected \(entry.shape)")
            }
            guard tensor.dtype == entry.dtype else {
                throw ArchitectureError("tensor '\(entry.name)' is \(tensor.dtype.rawValue), expected \(entry.dtype.rawValue)")
            }
            if let values = tensor.floats, let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw ArchitectureError("tensor '\(entry.name)' has a non-finite value at element \(bad)")
            }
            if entry.name.hasSuffix(".running_var"), let values = tensor.floats, let bad = values.firstIndex(where: { $0 < 0 }) {
                throw ArchitectureError("tensor '\(entry.name)' has a negative variance \(values[bad]) at element \(bad)")
            }
        }
        let expectedNames = Set(expected.map(\.name))
        if let extra = tensors.keys.sorted().first(where: { !expectedNames.contains($0) }) {
            throw ArchitectureError("unexpected tensor '\(extra)' for a \(arch.kind.rawValue) architecture")
        }
        if let stats = trainingStats {
            try stats.validate(features: features, latentDim: arch.latentDim)
        }
    }

    // MARK: Writing

    /// The metadata map as stored (fixed keys plus `extraMetadata`).
    public func metadata() throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        var meta = extraMetadata
        meta[ModelMetadataKey.format] = Self.formatName
        meta[ModelMetadataKey.formatVersion] = String(Self.formatVersion)
        meta[ModelMetadataKey.architecture] = try json(architecture)
        meta[ModelMetadataKey.features] = try json(features)
        meta[ModelMetadataKey.embedding] = try json(embedding)
        meta[ModelMetadataKey.normalization] = try json(normalization)
        meta[ModelMetadataKey.target] = target
        meta[ModelMetadataKey.powerSource] = powerSource.description
        meta[ModelMetadataKey.provenance] = provenance
        meta[ModelMetadataKey.metrics] = metrics
        if let trainingStats { meta[ModelMetadataKey.trainingStats] = try json(trainingStats) }
        if let name { meta[ModelMetadataKey.name] = name }
        if let guestShape { meta[ModelMetadataKey.guestShape] = try json(guestShape) }
        if let interval { meta[ModelMetadataKey.interval] = try json(interval) }
        if busySource != .procStat { meta[ModelMetadataKey.busySource] = busySource.rawValue }
        return meta
    }

    /// The file bytes (validates first, so we never write a model we would refuse to load).
    public func serialized() throws -> [UInt8] {
        do {
            try validate()
        } catch let error as ArchitectureError {
            throw VraplError("refusing to write an invalid model: \(error.description)")
        }
        return try SafetensorsFile(tensors: tensors, metadata: try metadata()).serialized()
    }

    /// Writes the model atomically.
    public func write(to url: URL) throws {
        let bytes: [UInt8]
        do {
            bytes = try serialized()
        } catch let error as VraplError {
            throw VraplError("\(url.path): \(error.message)")
        }
        do {
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw VraplError("\(url.path): cannot write model file: \(SafetensorsFile.reason(error))")
        }
    }

    /// The expected tensor layout of this model's architecture, with zero weights except BatchNorm
    /// running variances (1) — a starting point for writers and tests.
    public static func zeroTensors(for architecture: Architecture) throws -> [String: SafetensorsTensor] {
        var out: [String: SafetensorsTensor] = [:]
        for entry in try ParameterLayout.expected(for: architecture) {
            let count = entry.shape.reduce(1, *)
            switch entry.dtype {
            case .f32:
                let fill: Float = entry.name.hasSuffix("running_var") ? 1 : 0
                out[entry.name] = SafetensorsTensor(shape: entry.shape, floats: Array(repeating: fill, count: count))
            case .i64:
                out[entry.name] = SafetensorsTensor(shape: entry.shape, int64s: Array(repeating: 0, count: count))
            }
        }
        return out
    }
}

/// Anything whose parameters can be set by PyTorch `state_dict` name (the nn engine's network).
public protocol NamedParameterSink {
    /// The parameters it expects: name and shape (int64 buffers such as `num_batches_tracked` may be omitted).
    var namedParameterShapes: [(name: String, shape: [Int])] { get }
    /// Sets one parameter's values (row-major, count = product of its shape).
    mutating func setParameter(named name: String, values: [Float]) throws
}

extension ModelFile {
    /// Copies the weights into a network by name, checking every shape first. Errors name the tensor
    /// and both shapes, and the model file.
    public func loadWeights<Sink: NamedParameterSink>(into sink: inout Sink) throws {
        let source = path ?? displayName
        for (name, shape) in sink.namedParameterShapes {
            guard let tensor = tensors[name] else {
                throw VraplError("\(source): model has no tensor '\(name)' that the network needs")
            }
            guard tensor.shape == shape else {
                throw VraplError("\(source): tensor '\(name)' has shape \(tensor.shape) in the file but the network expects \(shape)")
            }
            guard let values = tensor.floats else {
                throw VraplError("\(source): tensor '\(name)' is \(tensor.dtype.rawValue), the network needs F32")
            }
            try sink.setParameter(named: name, values: values)
        }
    }
}
