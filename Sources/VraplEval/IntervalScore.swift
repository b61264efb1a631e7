import Foundation
import VraplModel

/// How a model's prediction interval does on one split's test windows (`interval` of a split in
/// metrics.json): empirical coverage of the nominal interval, its mean width, and whether width
/// predicts error: the AUROC of the width for picking windows with |error| > 5 W (0.5 is chance).
/// Shift splits may under-cover; the report shows by how much.
public struct IntervalScore: Codable, Sendable {
    public var nominal: Double
    public var coverage: Double
    public var meanWidthWatts: Double
    /// nil when every window, or none, has |error| > 5 W.
    public var errorAUROCWidth: Double?

    enum CodingKeys: String, CodingKey {
        case nominal
        case coverage = "interval_coverage"
        case meanWidthWatts = "interval_mean_width_w"
        case errorAUROCWidth = "error_auroc_width"
    }

    public static let errorThresholdWatts = 5.0

    /// `spreads`: each window's local spread, for a normalized interval.
    public init?(interval: PredictionInterval?, predicted: [Double], measured: [Double], spreads: [Double]? = nil) {
        guard let interval, !predicted.isEmpty, predicted.count == measured.count else { return nil }
        if interval.isNormalized && spreads?.count != predicted.count { return nil }
        var inside = 0, width = 0.0
        var scores: [(width: Double, bad: Bool)] = []
        for (i, (p, y)) in zip(predicted, measured).enumerated() {
            let b = interval.bounds(p, spread: spreads?[i])
            if y >= b.low && y <= b.high { inside += 1 }
            width += b.high - b.low
            scores.append((b.high - b.low, abs(p - y) > Self.errorThresholdWatts))
        }
        nominal = interval.nominal
        coverage = Double(inside) / Double(predicted.count)
        meanWidthWatts = width / Double(predicted.count)
        errorAUROCWidth = Self.auroc(scores)
    }

    /// P(score of a positive > score of a negative), ties counting half (Mann–Whitney by ranks).
    static func auroc(_ items: [(width: Double, bad: Bool)]) -> Double? {
        let positives = items.filter(\.bad).count, negatives = items.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let sorted = items.sorted { $0.width < $1.width }
        var rankSum = 0.0, i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1].width == sorted[i].width { j += 1 }
            let rank = Double(i + j) / 2 + 1  // average rank of the tie group, 1-based
            for k in i...j where sorted[k].bad { rankSum += rank }
            i = j + 1
        }
        return (rankSum - Double(positives) * Double(positives + 1) / 2) / (Double(positives) * Double(negatives))
    }
}

/// Nominal against empirical coverage at several levels (`coverage_curve` of a split): the model's
/// own interval method (normalized by the local spread when its interval is, else Mondrian bins by
/// predicted power) recalibrated at each level on the split's validation windows and scored on its
/// test windows. Under the split the model was trained with, its validation windows are the ones its
/// stored interval was calibrated on, so the 80 % point reproduces the stored interval.
public struct CoveragePoint: Codable, Sendable, Equatable {
    public var nominal: Double
    public var coverage: Double
    public var meanWidthWatts: Double

    enum CodingKeys: String, CodingKey {
        case nominal, coverage
        case meanWidthWatts = "mean_width_w"
    }

    public static let levels = [0.5, 0.8, 0.9, 0.95]

    /// One point per level; empty when there are too few calibration windows (under 20).
    /// `local` with the spreads of both sets: the normalized method; nil: Mondrian bins.
    public static func curve(calibrationPredicted: [Double], calibrationMeasured: [Double],
                             testPredicted: [Double], testMeasured: [Double], levels: [Double] = levels,
                             local: (reference: LocalSpread, calibration: [Double], test: [Double])? = nil) -> [CoveragePoint] {
        levels.compactMap { level in
            let made: PredictionInterval?
            if let local {
                made = PredictionInterval.calibrateNormalized(predictions: calibrationPredicted, targets: calibrationMeasured,
                                                              spreads: local.calibration, local: local.reference, nominal: level)
            } else {
                made = PredictionInterval.calibrate(predictions: calibrationPredicted, targets: calibrationMeasured, nominal: level)
            }
            guard let interval = made,
                  let score = IntervalScore(interval: interval, predicted: testPredicted, measured: testMeasured, spreads: local?.test) else { return nil }
            return CoveragePoint(nominal: level, coverage: score.coverage, meanWidthWatts: score.meanWidthWatts)
        }
    }
}
