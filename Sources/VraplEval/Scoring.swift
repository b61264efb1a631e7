import Foundation
import VraplCore
import VraplModel
import VraplDataset

/// Every point metric of one set of windows scored against measured power.
public struct ScoredSet: Codable, Sendable {
    public var name: String
    public var windows: Int
    public var overall: ErrorMetrics
    public var byFamily: [String: ErrorMetrics]
    public var bySegment: [String: ErrorMetrics]
    public var idleBias: IdleBias
    public var burst: BurstOverReaction
    public var busyBins: [BusyBin]
    /// RMSE of `sim_hidden_w` over the same windows: the simulator's true unavoidable error (sim only).
    public var hiddenRMSE: Double?
    /// The model's interval on these windows (live traces; the splits carry theirs beside the set).
    public var interval: IntervalScore? = nil

    enum CodingKeys: String, CodingKey {
        case name, windows, overall
        case byFamily = "by_family"
        case bySegment = "by_segment"
        case idleBias = "idle_bias"
        case burst
        case busyBins = "busy_bins"
        case hiddenRMSE = "hidden_rmse"
        case interval
    }
}

/// A baseline fitted on a split's training windows and scored on its test windows.
public struct BaselineScore: Codable, Sendable {
    public var baseline: Baseline
    public var title: String
    public var test: ErrorMetrics
    public var idleBias: ErrorMetrics
}

/// A published curve (`PublishedBaseline`) scored on a split's test windows.
public struct PublishedBaselineScore: Codable, Sendable {
    public var baseline: PublishedBaseline
    public var title: String
    public var test: ErrorMetrics
    public var idleBias: ErrorMetrics
}

extension EvalData {
    /// Windows sorted by time (global sample position), the order the burst analysis needs.
    public func timeOrdered(_ windows: [Int32]) -> [Int32] {
        windows.sorted { dataset.windowEnds[Int($0)] < dataset.windowEnds[Int($1)] }
    }

    public func targets(_ windows: [Int32]) -> [Double] { windows.map { target(Int($0)) } }
    public func busy(_ windows: [Int32]) -> [Double] { windows.map { busyPercent[Int($0)] } }
    public func families(_ windows: [Int32]) -> [String] { windows.map { family(Int($0)) } }

    /// Scores predictions (`predicted[i]` for `windows[i]`).
    public func score(name: String, windows: [Int32], predicted: [Double],
                      burstParameters: BurstOverReaction.Parameters = .init()) -> ScoredSet {
        let y = targets(windows), busy = busy(windows)
        let fam = families(windows), seg = windows.map { segmentLabel(Int($0)) }
        // Bursts need time order.
        let order = windows.indices.sorted { dataset.windowEnds[Int(windows[$0])] < dataset.windowEnds[Int(windows[$1])] }
        let loc = order.map { location(Int(windows[$0])) }
        let burst = BurstOverReaction(predicted: order.map { predicted[$0] }, measured: order.map { y[$0] },
                                      busyPercent: order.map { busy[$0] }, sequence: loc.map(\.trace),
                                      sampleIndex: loc.map(\.position), sampleIntervalSeconds: sampleIntervalSeconds,
                                      parameters: burstParameters)
        var hiddenRMSE: Double? = nil
        if hiddenWatts != nil {
            let h = windows.compactMap { hidden(Int($0)) }
            if !h.isEmpty { hiddenRMSE = (h.reduce(0) { $0 + $1 * $1 } / Double(h.count)).squareRoot() }
        }
        return ScoredSet(
            name: name, windows: windows.count,
            overall: ErrorMetrics(predicted: predicted, measured: y),
            byFamily: Dictionary(uniqueKeysWithValues: ErrorMetrics.grouped(predicted: predicted, measured: y, groups: fam).map { ($0.group, $0.metrics) }),
            bySegment: Dictionary(uniqueKeysWithValues: ErrorMetrics.grouped(predicted: predicted, measured: y, groups: seg).map { ($0.group, $0.metrics) }),
            idleBias: IdleBias(predicted: predicted, measured: y, busyPercent: busy),
            burst: burst,
            busyBins: BusyBin.bins(predicted: predicted, measured: y, busyPercent: busy),
            hiddenRMSE: hiddenRMSE)
    }

    /// Fits every baseline on `train` and scores it on `test` (busy fraction u = busy % / 100).
    public func baselines(train: [Int32], test: [Int32]) -> [BaselineScore] {
        let u = busy(train).map { $0 / 100 }, y = targets(train), f = families(train)
        let ut = busy(test).map { $0 / 100 }, yt = targets(test), ft = families(test)
        let busyTest = busy(test)
        return BaselineKind.allCases.map { kind in
            let b = Baseline.fit(kind, u: u, y: y, families: f, testU: ut, testY: yt, testFamilies: ft)
            let p = b.predict(u: ut, families: ft)
            return BaselineScore(baseline: b, title: kind.title, test: ErrorMetrics(predicted: p, measured: yt),
                                 idleBias: IdleBias(predicted: p, measured: yt, busyPercent: busyTest).metrics)
        }
    }

    /// Every published curve that `context` allows (the TDP curves need a TDP), scored on `test`;
    /// Kepler's legacy line is fitted on `train`.
    public func publishedBaselines(train: [Int32], test: [Int32], context: PublishedBaselineContext) -> [PublishedBaselineScore] {
        let u = busy(train).map { $0 / 100 }, s = train.map { hostShare(Int($0)) }, y = targets(train)
        let ut = busy(test).map { $0 / 100 }, st = test.map { hostShare(Int($0)) }, yt = targets(test)
        let busyTest = busy(test)
        return PublishedBaselineKind.allCases.compactMap { kind in
            guard let b = PublishedBaseline.make(kind, context: context, u: u, s: s, y: y) else { return nil }
            let p = b.predict(u: ut, s: st)
            return PublishedBaselineScore(baseline: b, title: kind.title, test: ErrorMetrics(predicted: p, measured: yt),
                                          idleBias: IdleBias(predicted: p, measured: yt, busyPercent: busyTest).metrics)
        }
    }

    /// Reduced (block-mean), min–max scaled windows for the feature ceiling: row-major
    /// [windows.count × reduction.outputSize].
    public func reducedWindows(_ windows: [Int32], reduction: WindowReduction) -> [Float] {
        let r = reduction.outputSize
        var out = [Float](repeating: 0, count: windows.count * r)
        out.withUnsafeMutableBufferPointer { o in
            guard let ob = o.baseAddress else { return }
            dataset.forEachRawWindow(windows) { i, raw in
                reduction.reduce(raw, into: UnsafeMutableBufferPointer(start: ob + i * r, count: r))
            }
        }
        WindowReduction.minMaxScale(&out, dimension: r)
        return out
    }

    /// The feature ceiling over `windows` (all windows when nil), neighbours excluded within a segment.
    public func featureCeiling(windows: [Int32]? = nil, options: FeatureCeiling.Options = .init()) -> FeatureCeiling.Result {
        let ws = windows ?? (0..<Int32(windowCount)).map { $0 }
        let reduction = WindowReduction(features: dataset.featureCount, length: dataset.embedding.d)
        let pts = reducedWindows(ws, reduction: reduction)
        return FeatureCeiling.estimate(points: pts, dimension: reduction.outputSize, y: targets(ws),
                                       group: ws.map { Int(dataset.windowSegments[Int($0)]) }, family: families(ws),
                                       options: options)
    }

    /// RMSE of `sim_hidden_w` overall and per family over `windows` (nil without simulator data).
    public func hiddenRMSE(windows: [Int32]? = nil) -> (overall: Double, byFamily: [String: Double])? {
        guard hiddenWatts != nil else { return nil }
        let ws = windows ?? (0..<Int32(windowCount)).map { $0 }
        var sq: [String: (Double, Int)] = [:]
        var all = 0.0, n = 0
        for w in ws {
            guard let h = hidden(Int(w)) else { continue }
            sq[family(Int(w)), default: (0, 0)].0 += h * h
            sq[family(Int(w)), default: (0, 0)].1 += 1
            all += h * h; n += 1
        }
        guard n > 0 else { return nil }
        return ((all / Double(n)).squareRoot(), sq.mapValues { ($0.0 / Double(max(1, $0.1))).squareRoot() })
    }
}
