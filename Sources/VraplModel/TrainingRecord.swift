import Foundation
import VraplCore
import VraplDataset
import VraplNN

// What `vrapl train` records in a model file: `provenance` (where the model came from) and `metrics`
// (how it scored), each a JSON string in the metadata (docs/model-format.md). `ModelFile` decodes
// both once at load into these types; nothing re-parses the strings.

/// Scores of a model on a set of windows: the training objective's mean `loss` beside the point
/// errors (`ErrorMetrics`, the one definition of MAE, RMSE, R², MAPE and bias that evaluation uses).
/// Stored flat, `{"loss": …, "count": …, "mae": …, "rmse": …, "r2": …, …}`; non-finite scores as `null`.
public struct RegressionMetrics: Codable, Equatable, Sendable {
    /// Mean of the training loss (L1, MSE or Huber) over the windows.
    public var loss: Double
    /// MAE, RMSE, R² (nil for constant targets), MAPE and mean bias, W.
    public var errors: ErrorMetrics

    public init(loss: Double, errors: ErrorMetrics) { self.loss = loss; self.errors = errors }

    /// No windows: every score NaN, R² nil.
    public static func empty(loss: Double = .nan) -> RegressionMetrics {
        RegressionMetrics(loss: loss, errors: ErrorMetrics(predicted: [Double](), measured: []))
    }

    public var mae: Double { errors.mae }
    public var rmse: Double { errors.rmse }
    public var r2: Double? { errors.r2 }
    public var count: Int { errors.count }

    enum CodingKeys: String, CodingKey { case loss }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if loss.isFinite { try c.encode(loss, forKey: .loss) } else { try c.encodeNil(forKey: .loss) }
        try errors.encode(to: encoder)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(loss: try c.decodeIfPresent(Double.self, forKey: .loss) ?? .nan, errors: try ErrorMetrics(from: decoder))
    }

    /// Scores `predictions` against `targets` in double precision: the mean loss by VraplNN's
    /// `lossNaive` (the loss's one definition outside the fused training kernel), the errors by `ErrorMetrics`.
    public static func compute(predictions: [Float], targets: [Float], loss: LossKind) -> RegressionMetrics {
        let n = min(predictions.count, targets.count)
        guard n > 0 else { return .empty() }
        let p = predictions.prefix(n).map(Double.init), t = targets.prefix(n).map(Double.init)
        return RegressionMetrics(loss: lossNaive(kind: loss, prediction: p, target: t), errors: ErrorMetrics(predicted: p, measured: t))
    }

}

/// The `metrics` metadata value and the history's summary.
public struct MetricsSummary: Codable, Equatable, Sendable {
    /// The split the scores are on; files that wrote `"shuffle (…)"` or `{"kind": "shuffle"}` read too.
    public var split: SplitKind?
    public var bestEpoch: Int
    public var epochsRun: Int
    public var validation: RegressionMetrics
    public var test: RegressionMetrics
    public var powerSource: PowerSource

    enum CodingKeys: String, CodingKey {
        case split, validation, test
        case bestEpoch = "best_epoch", epochsRun = "epochs_run", powerSource = "power_source"
    }

    public init(split: SplitKind?, bestEpoch: Int, epochsRun: Int, validation: RegressionMetrics, test: RegressionMetrics,
                powerSource: PowerSource) {
        self.split = split; self.bestEpoch = bestEpoch; self.epochsRun = epochsRun
        self.validation = validation; self.test = test; self.powerSource = powerSource
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try? c.decodeIfPresent(String.self, forKey: .split) {
            split = text.split(separator: " ").first.flatMap { SplitKind(rawValue: String($0)) }
        } else if let nested = try? c.decodeIfPresent([String: String].self, forKey: .split) {
            split = nested["kind"].flatMap(SplitKind.init(rawValue:))
        } else {
            split = nil
        }
        bestEpoch = try c.decode(Int.self, forKey: .bestEpoch)
        epochsRun = try c.decode(Int.self, forKey: .epochsRun)
        validation = try c.decode(RegressionMetrics.self, forKey: .validation)
        test = try c.decode(RegressionMetrics.self, forKey: .test)
        powerSource = try c.decode(PowerSource.self, forKey: .powerSource)
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// The `provenance` metadata value: the tool, config and command that trained the model, its input
/// traces, and its split (kind, seed, what was held out, how many windows each part had). Every field
/// is optional: an imported DECODE-RAPL checkpoint records only where it came from.
public struct TrainingProvenance: Codable, Equatable, Sendable {
    public var tool: String?
    public var config: String?
    public var command: String?
    public var created: String?
    public var traces: [TraceProvenance]?
    public var split: SplitKind?
    public var seed: UInt64?
    /// `design` when the segment split held every design stratum (family, guest size, neighbour load)
    /// out in proportion (absent: a plain draw).
    public var stratify: String?
    /// The split's validation and test fractions (absent in models trained before they were
    /// recorded: the defaults 0.1 and 0.1).
    public var validationFraction: Double?
    public var testFraction: Double?
    /// `test:<segment>`, `test:family=<name>`, … as `DatasetSplit.heldOut` names them.
    public var heldOut: [String]?
    public var windows: WindowCounts?

    public struct WindowCounts: Codable, Equatable, Sendable {
        public var train: Int
        public var validation: Int
        public var test: Int
        public init(train: Int, validation: Int, test: Int) { self.train = train; self.validation = validation; self.test = test }
        public var total: Int { train + validation + test }
    }

    enum CodingKeys: String, CodingKey {
        case tool, config, command, created, traces, split, seed, windows, stratify
        case heldOut = "held_out"
        case validationFraction = "validation_fraction", testFraction = "test_fraction"
    }

    public init(tool: String? = nil, config: String? = nil, command: String? = nil, created: String? = nil,
                traces: [TraceProvenance]? = nil, split: SplitKind? = nil, seed: UInt64? = nil, stratify: String? = nil,
                validationFraction: Double? = nil, testFraction: Double? = nil,
                heldOut: [String]? = nil, windows: WindowCounts? = nil) {
        self.tool = tool; self.config = config; self.command = command; self.created = created; self.traces = traces
        self.split = split; self.seed = seed; self.stratify = stratify; self.heldOut = heldOut; self.windows = windows
        self.validationFraction = validationFraction; self.testFraction = testFraction
    }

    /// The family the model was trained without (`test:family=<name>` in `held_out`).
    public var heldOutFamily: String? {
        heldOut?.first { $0.hasPrefix("test:family=") }.map { String($0.dropFirst("test:family=".count)) }
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
