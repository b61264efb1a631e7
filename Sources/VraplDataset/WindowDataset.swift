import Foundation
import VraplCore
import VraplTrace

/// Delay embedding: `d` samples spaced `tau` apart; a window spans `(d − 1) · tau` intervals.
public struct DelayEmbedding: Codable, Equatable, Sendable {
    public var d: Int
    public var tau: Int
    /// Where the newest sample sits in each feature's block of the window (vrapl and DECODE-RAPL's
    /// inference: first; DECODE-RAPL's training script: last).
    public var order: WindowOrder
    public init(d: Int, tau: Int, order: WindowOrder = .newestFirst) { self.d = d; self.tau = tau; self.order = order }
    /// Distance in samples from the oldest to the newest sample of a window.
    public var span: Int { (d - 1) * tau }
    /// The position within a feature's block of the sample `lag` steps (of τ) before the newest.
    @inline(__always) public func slot(lag: Int) -> Int { order == .newestFirst ? lag : d - 1 - lag }

    enum CodingKeys: String, CodingKey { case d, tau, order }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(d: try c.decode(Int.self, forKey: .d), tau: try c.decode(Int.self, forKey: .tau),
                  order: try c.decodeIfPresent(WindowOrder.self, forKey: .order) ?? .newestFirst)
    }
}

/// The layout of each feature's block of a window.
public enum WindowOrder: String, Codable, Sendable, CaseIterable {
    /// Position k holds the sample k·τ before the newest (vrapl's training and every vrapl model).
    case newestFirst = "newest_first"
    /// Position k holds the sample (d − 1 − k)·τ before the newest: how DECODE-RAPL's
    /// `prepare_training_data.py` lays out its training windows.
    case oldestFirst = "oldest_first"
}

/// Which windows a dataset offers.
public struct WindowOptions: Sendable, Equatable {
    public var embedding: DelayEmbedding
    /// The first `skipSamples` samples of every labelled segment (the whole trace when it has no
    /// segments) are never a window's target: stress-ng start-up transients.
    public var skipSamples: Int
    /// When false (default), a window lies wholly inside its target's segment. Windows never cross traces.
    public var crossSegments: Bool
    public init(embedding: DelayEmbedding, skipSamples: Int = 100, crossSegments: Bool = false) {
        self.embedding = embedding; self.skipSamples = skipSamples; self.crossSegments = crossSegments
    }
}

/// One trace inside a dataset: its samples are `globalStart ..< globalStart + count`.
public struct DatasetTrace: Sendable, Equatable {
    public var name: String
    public var globalStart: Int
    public var count: Int
    public var powerSource: PowerSource
    /// Guest views: the host, the rule and the range of k; nil for a whole-host trace.
    public var guestView: GuestViewShape? = nil
}

/// What a guest-view trace says about its host, without per-sample data (a model's `host` metadata).
public struct GuestViewShape: Sendable, Equatable {
    public var host: HostShape
    public var rule: ShareRule
    public var vcpus: ClosedRange<Int>
    public init(host: HostShape, rule: ShareRule, vcpus: ClosedRange<Int>) { self.host = host; self.rule = rule; self.vcpus = vcpus }
}

/// One labelled segment (global sample positions, inclusive) and the trace it belongs to.
public struct DatasetSegment: Sendable, Equatable {
    public var trace: Int
    public var name: String
    public var family: String
    public var globalFirst: Int
    public var globalLast: Int
    /// The trace segment's parameters (stressor, workers, vcpus, neighbour_load, …).
    public var parameters: [String: String] = [:]
}

/// Feature columns, targets and the list of valid windows of one or many traces, concatenated.
///
/// Windows are views: a window is its target's global sample position (`windowEnds[i]`); its input is
/// gathered on the fly (`gather`) in the model's order, feature-major and newest first:
/// input position `f · d + k` is feature f at sample `end − k · tau`. Memory is 4 bytes per feature
/// per sample plus 4 (target) + 8 (window end and segment) per sample: 5.8 M samples of
/// `decode-rapl-4` take 5.8 M × 28 B ≈ 162 MB.
public struct WindowDataset: Sendable {
    public let featureNames: [String]
    public let options: WindowOptions
    public let sampleCount: Int
    /// Feature-major over all samples: `features[f * sampleCount + g]`.
    public let features: [Float]
    /// Package watts per sample (NaN where undefined; never the target of a window).
    public let targets: [Float]
    /// Global position of each window's newest sample (its target).
    public let windowEnds: [Int32]
    /// Index into `segments` of each window.
    public let windowSegments: [Int32]
    public let segments: [DatasetSegment]
    public let traces: [DatasetTrace]

    public var featureCount: Int { featureNames.count }
    public var embedding: DelayEmbedding { options.embedding }
    /// The host shape of a dataset of guest views (every trace agrees on host and rule; k is the
    /// union of their ranges); nil for whole-host data.
    public var guestView: GuestViewShape? {
        let views = traces.compactMap(\.guestView)
        guard var shape = views.first else { return nil }
        for v in views.dropFirst() { shape.vcpus = min(shape.vcpus.lowerBound, v.vcpus.lowerBound)...max(shape.vcpus.upperBound, v.vcpus.upperBound) }
        return shape
    }
    public var windowCount: Int { windowEnds.count }
    /// Scalars per window: features × d.
    public var inputSize: Int { featureCount * embedding.d }

    init(featureNames: [String], options: WindowOptions, sampleCount: Int, features: [Float], targets: [Float],
         windowEnds: [Int32], windowSegments: [Int32], segments: [DatasetSegment], traces: [DatasetTrace]) {
        self.featureNames = featureNames; self.options = options; self.sampleCount = sampleCount
        self.features = features; self.targets = targets; self.windowEnds = windowEnds
        self.windowSegments = windowSegments; self.segments = segments; self.traces = traces
    }

    /// The trace and the trace-local sample position of window `index`'s target.
    public func location(ofWindow index: Int) -> (trace: Int, position: Int) {
        let segment = segments[Int(windowSegments[index])]
        let end = Int(windowEnds[index])
        return (segment.trace, end - traces[segment.trace].globalStart)
    }

    /// The raw feature values of one sample (global position), in feature order.
    public func featureRow(atGlobal position: Int) -> [Double] {
        (0..<featureCount).map { Double(features[$0 * sampleCount + position]) }
    }

    /// The power sources of the traces, deduplicated in order (a model must say `sim` if any is).
    public var powerSources: [PowerSource] {
        var seen: [PowerSource] = []
        for t in traces where !seen.contains(t.powerSource) { seen.append(t.powerSource) }
        return seen
    }

    /// Copies the inputs (`windows.count × inputSize`, row-major, scaled when `scaler` is given) and the
    /// targets of the given windows into caller-owned buffers (a reused batch buffer).
    public func gather(windows: UnsafeBufferPointer<Int32>, scaler: MinMaxScaler?,
                       inputs: UnsafeMutablePointer<Float>, targets out: UnsafeMutablePointer<Float>?) {
        let d = embedding.d, tau = embedding.tau, n = sampleCount, f = featureCount
        let size = f * d
        features.withUnsafeBufferPointer { feat in
            targets.withUnsafeBufferPointer { tgt in
                guard let fp = feat.baseAddress else { return }
                for (row, window) in windows.enumerated() {
                    let end = Int(windowEnds[Int(window)])
                    let dst = inputs + row * size
                    for fi in 0..<f {
                        let column = fp + fi * n + end
                        for k in 0..<d { dst[fi * d + embedding.slot(lag: k)] = column[-k * tau] }
                    }
                    out?[row] = tgt[end]
                }
            }
        }
        if let scaler {
            scaler.transform(inputs, rows: windows.count)
        }
    }

    /// Array convenience for `gather` (tests, small batches).
    /// Calls `body(i, raw)` for each of `windows` in order with its raw (unscaled) window, gathered
    /// `chunk` windows at a time into one reused buffer (`raw` is only valid inside `body`).
    public func forEachRawWindow(_ windows: [Int32], chunk: Int = 4096, _ body: (Int, UnsafeBufferPointer<Float>) -> Void) {
        let size = inputSize
        var raw = [Float](repeating: 0, count: max(1, min(chunk, windows.count)) * size)
        var start = 0
        while start < windows.count {
            let n = min(chunk, windows.count - start)
            windows[start..<(start + n)].withUnsafeBufferPointer { w in
                raw.withUnsafeMutableBufferPointer { x in
                    guard let xb = x.baseAddress else { return }
                    gather(windows: w, scaler: nil, inputs: xb, targets: nil)
                    for row in 0..<n { body(start + row, UnsafeBufferPointer(start: xb + row * size, count: size)) }
                }
            }
            start += n
        }
    }

    public func gather(windows: [Int32], scaler: MinMaxScaler? = nil) -> (inputs: [Float], targets: [Float]) {
        var x = [Float](repeating: 0, count: windows.count * inputSize)
        var y = [Float](repeating: 0, count: windows.count)
        windows.withUnsafeBufferPointer { w in
            x.withUnsafeMutableBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let xb = xp.baseAddress, let yb = yp.baseAddress else { return }
                    gather(windows: w, scaler: scaler, inputs: xb, targets: yb)
                }
            }
        }
        return (x, y)
    }

    /// Keeps at most `maxWindows` windows, chosen uniformly at random with `seed`, in their original order
    /// (`--max-samples`). Feature columns are shared, not copied.
    public func limited(toWindows maxWindows: Int, seed: UInt64) -> WindowDataset {
        guard maxWindows < windowCount else { return self }
        var ids = Array(0..<windowCount)
        var rng = SplitMix64(seed: seed ^ 0x4D41_5853)
        rng.shuffle(&ids)
        let kept = ids.prefix(max(0, maxWindows)).sorted()
        return WindowDataset(featureNames: featureNames, options: options, sampleCount: sampleCount,
                             features: features, targets: targets,
                             windowEnds: kept.map { windowEnds[$0] }, windowSegments: kept.map { windowSegments[$0] },
                             segments: segments, traces: traces)
    }
}

/// Builds a `WindowDataset` trace by trace (each trace's raw counters can be dropped after `add`).
public struct WindowDatasetBuilder {
    public let featureNames: [String]
    public let options: WindowOptions
    private var columns: [[Float]]
    private var targets: [Float] = []
    private var windowEnds: [Int32] = []
    private var windowSegments: [Int32] = []
    private var segments: [DatasetSegment] = []
    private var traces: [DatasetTrace] = []
    private var sampleCount = 0

    /// Windows added so far.
    public var windowCount: Int { windowEnds.count }

    public init(featureNames: [String], options: WindowOptions) {
        self.featureNames = featureNames
        self.options = options
        self.columns = Array(repeating: [], count: featureNames.count)
    }

    /// Adds a trace: features of `featureSet` through `FeatureExtractor`, targets from its package zones.
    /// Returns how many intervals had an implausible power reading (NaN targets, so no window ends
    /// on them), for the caller to report.
    @discardableResult
    public mutating func add(trace: TraceData, featureSet: FeatureSet, name: String) throws -> Int {
        guard featureSet.featureNames == featureNames else {
            throw VraplError("\(name): feature set \(featureSet.name) does not match the dataset's features")
        }
        let series = try FeatureSeries(trace: trace, featureSet: featureSet)
        let watts: [Float], implausible: Int
        do { (watts, implausible) = try TargetPower.seriesWithImplausibleCount(trace: trace) } catch let error as VraplError {
            throw VraplError("\(name): \(error.message)")
        }
        var shape: GuestViewShape?
        if let view = trace.guestView, let range = view.vcpuRange {
            shape = GuestViewShape(host: view.host, rule: view.rule, vcpus: range)
            if let other = traces.first, other.guestView?.host != view.host || other.guestView?.rule != view.rule {
                throw VraplError("\(name): a guest view of host \(view.host.cpuModel) (\(view.host.threads) threads, \(view.rule.rawValue)) cannot join \(other.name), "
                                 + (other.guestView.map { "a view of \($0.host.cpuModel) (\($0.host.threads) threads, \($0.rule.rawValue))" } ?? "a whole-host trace")
                                 + ": a model is trained for one host shape")
            }
        } else if let other = traces.first(where: { $0.guestView != nil }) {
            throw VraplError("\(name): a whole-host trace cannot join the guest view \(other.name): a model is trained for one host shape")
        }
        try add(series: series, targets: watts, segments: trace.segments, name: name, powerSource: trace.metadata.powerSource)
        traces[traces.count - 1].guestView = shape
        return implausible
    }

    /// Adds a precomputed series with its per-sample targets and labelled segments (trace-local positions).
    public mutating func add(series: FeatureSeries, targets watts: [Float], segments traceSegments: [TraceSegment],
                             name: String, powerSource: PowerSource) throws {
        guard series.featureNames == featureNames else {
            throw VraplError("\(name): features \(series.featureNames) do not match the dataset's \(featureNames)")
        }
        guard watts.count == series.count else {
            throw VraplError("\(name): \(watts.count) targets for \(series.count) samples")
        }
        guard sampleCount + series.count < Int(Int32.max) else {
            throw VraplError("\(name): more than \(Int32.max) samples in one dataset")
        }
        let n = series.count
        let offset = sampleCount
        let traceIndex = traces.count
        for f in 0..<featureNames.count {
            columns[f].append(contentsOf: series.values[(f * n)..<((f + 1) * n)])
        }
        targets.append(contentsOf: watts)
        traces.append(DatasetTrace(name: name, globalStart: offset, count: n, powerSource: powerSource))
        sampleCount += n

        let labelled = traceSegments.isEmpty
            ? [TraceSegment(name: name, firstSample: 0, lastSample: n - 1)] : traceSegments
        let span = options.embedding.span
        for segment in labelled {
            let first = max(0, segment.firstSample), last = min(n - 1, segment.lastSample)
            guard first <= last else { continue }
            var lo = max(first + options.skipSamples, series.firstValid + span)
            if !options.crossSegments { lo = max(lo, first + span) }
            let segmentIndex = Int32(segments.count)
            segments.append(DatasetSegment(trace: traceIndex, name: segment.name, family: segment.family,
                                           globalFirst: offset + first, globalLast: offset + last, parameters: segment.parameters))
            guard lo <= last else { continue }
            for t in lo...last where watts[t].isFinite {
                windowEnds.append(Int32(offset + t))
                windowSegments.append(segmentIndex)
            }
        }
    }

    /// The finished dataset (columns are flattened feature-major once, here, releasing the builder's copy).
    public mutating func build() -> WindowDataset {
        var flat = [Float]()
        flat.reserveCapacity(sampleCount * featureNames.count)
        for i in columns.indices { flat.append(contentsOf: columns[i]); columns[i] = [] }
        return WindowDataset(featureNames: featureNames, options: options, sampleCount: sampleCount, features: flat,
                             targets: targets, windowEnds: windowEnds, windowSegments: windowSegments,
                             segments: segments, traces: traces)
    }
}
