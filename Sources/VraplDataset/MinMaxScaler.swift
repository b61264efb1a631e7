import Foundation
import VraplCore

/// Min-max scaling per input position (docs/model-format.md `normalization`): x' = (x − min) / range, with
/// one entry per window position (`features × d`, the model's input order). Fitted on the training
/// windows only. A position whose training values are all equal (range 0, or not finite) gets
/// range 1, so it maps to x − min instead of dividing by zero.
public struct MinMaxScaler: Equatable, Sendable {
    public var featureMin: [Float]
    public var featureRange: [Float]
    /// Clip every scaled value to [0, 1], as DECODE-RAPL's inference does (vrapl models: off).
    public var clip: Bool

    public init(featureMin: [Float], featureRange: [Float], clip: Bool = false) {
        self.featureMin = featureMin
        self.featureRange = featureRange.map { Self.guarded($0) }
        self.clip = clip
    }

    static func guarded(_ r: Float) -> Float { (r.isFinite && r > 0) ? r : 1 }

    /// Fits on the given windows of `dataset` (normally the training split).
    public static func fit(dataset: WindowDataset, windows: [Int32]) -> MinMaxScaler {
        let d = dataset.embedding.d, tau = dataset.embedding.tau, n = dataset.sampleCount
        let size = dataset.inputSize
        var lo = [Float](repeating: .infinity, count: size)
        var hi = [Float](repeating: -.infinity, count: size)
        dataset.features.withUnsafeBufferPointer { feat in
            dataset.windowEnds.withUnsafeBufferPointer { ends in
                guard let fp = feat.baseAddress else { return }
                for fi in 0..<dataset.featureCount {
                    for k in 0..<d {
                        var mn = Float.infinity, mx = -Float.infinity
                        let column = fp + fi * n - k * tau
                        for w in windows {
                            let v = column[Int(ends[Int(w)])]
                            mn = Swift.min(mn, v); mx = Swift.max(mx, v)
                        }
                        lo[fi * d + k] = mn; hi[fi * d + k] = mx
                    }
                }
            }
        }
        let mins = lo.map { $0.isFinite ? $0 : 0 }
        let ranges = zip(lo, hi).map { guarded($1 - $0) }
        return MinMaxScaler(featureMin: mins, featureRange: ranges)
    }

    /// Fits on row-major `rows` of `dimension` values each (non-finite values are skipped): the feature
    /// ceiling's reduced windows, the interval's reference set of window means.
    public static func fit(rows: [Float], dimension: Int) -> MinMaxScaler {
        var lo = [Float](repeating: .infinity, count: dimension), hi = [Float](repeating: -.infinity, count: dimension)
        if dimension > 0 {
            for i in 0..<(rows.count / dimension) {
                for j in 0..<dimension {
                    let v = rows[i * dimension + j]
                    if v.isFinite { lo[j] = Swift.min(lo[j], v); hi[j] = Swift.max(hi[j], v) }
                }
            }
        }
        return MinMaxScaler(featureMin: lo.map { $0.isFinite ? $0 : 0 }, featureRange: zip(lo, hi).map { guarded($1 - $0) })
    }

    /// Scales every row of row-major `rows` in place.
    public func transform(rows: inout [Float]) {
        let size = featureMin.count
        guard size > 0 else { return }
        rows.withUnsafeMutableBufferPointer { if let b = $0.baseAddress { transform(b, rows: $0.count / size) } }
    }

    /// Scales `rows` consecutive input rows in place.
    public func transform(_ inputs: UnsafeMutablePointer<Float>, rows: Int) {
        let size = featureMin.count
        featureMin.withUnsafeBufferPointer { mn in
            featureRange.withUnsafeBufferPointer { rg in
                for r in 0..<rows {
                    let row = inputs + r * size
                    for p in 0..<size { row[p] = (row[p] - mn[p]) / rg[p] }
                    if clip { for p in 0..<size { row[p] = min(1, max(0, row[p])) } }
                }
            }
        }
    }

    /// Scales one row (array form).
    public func transform(_ row: [Float]) -> [Float] {
        var out = row
        out.withUnsafeMutableBufferPointer { if let b = $0.baseAddress { transform(b, rows: 1) } }
        return out
    }

    // MARK: model metadata

    private struct JSONForm: Codable {
        var type: String
        var feature_min: [Float]
        var feature_range: [Float]
    }

    /// The `normalization` metadata value: `{"type": "minmax", "feature_min": [...], "feature_range": [...]}`.
    public func metadataJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(JSONForm(type: "minmax", feature_min: featureMin, feature_range: featureRange))
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses a `normalization` metadata value.
    public init(metadataJSON text: String) throws {
        let form: JSONForm
        do { form = try JSONDecoder().decode(JSONForm.self, from: Data(text.utf8)) } catch {
            throw VraplError("normalization metadata is not valid JSON of the minmax form: \(error)")
        }
        guard form.type == "minmax" else { throw VraplError("normalization type '\(form.type)' is not supported (only minmax)") }
        guard form.feature_min.count == form.feature_range.count else {
            throw VraplError("normalization has \(form.feature_min.count) minima but \(form.feature_range.count) ranges")
        }
        self.init(featureMin: form.feature_min, featureRange: form.feature_range)
    }
}
