import Foundation
import VraplCore
import VraplDataset
import VraplTrace

/// The windows of one or more recordings prepared for evaluation: the dataset pipeline's
/// `WindowDataset` (same features, windows and package-power target as training) plus what only
/// evaluation needs: busy CPU per window, the simulator's `sim_hidden_w` where present, and the
/// power source of every trace.
public struct EvalData: Sendable {
    public let dataset: WindowDataset
    /// `sim_hidden_w` per global sample (NaN where a trace has none); nil when no trace has it.
    public let hiddenWatts: [Float]?
    /// Busy CPU per window, percent (see `busyPercent(dataset:)`).
    public let busyPercent: [Double]
    /// Paths (or names) of the inputs, in order.
    public let sources: [String]

    public init(dataset: WindowDataset, hiddenWatts: [Float]? = nil, sources: [String] = []) {
        self.dataset = dataset
        self.hiddenWatts = hiddenWatts
        self.busyPercent = EvalData.busyPercent(dataset: dataset)
        self.sources = sources.isEmpty ? dataset.traces.map(\.name) : sources
    }

    /// Loads trace files (`.h5`, or DECODE-RAPL `.csv`) into windows of `featureSet` with `options`,
    /// keeping `sim_hidden_w`.
    public static func load(paths: [String], featureSet: FeatureSet, options: WindowOptions,
                            log: (String) -> Void = { _ in }) throws -> EvalData {
        var acc = Accumulator(featureSet: featureSet, options: options)
        acc.idleWatts = try GuestViewDerivation.pooledIdleWatts(paths: paths, featureSet: featureSet)
        for path in paths {
            let name = URL(fileURLWithPath: path).lastPathComponent
            let before = acc.builder.windowCount
            if path.hasSuffix(".csv") {
                guard featureSet == .decodeRapl4 else {
                    throw VraplError("\(path): CSV input carries only the decode-rapl-4 features, not '\(featureSet.name)'")
                }
                let csv = try DecodeRaplCSV(url: URL(fileURLWithPath: path))
                guard let watts = csv.packageWatts else { throw VraplError("\(path): no package_power_watts column to score against") }
                let source: PowerSource
                do { source = try DecodeRaplCSVTable.declaredPowerSource(csvPath: path) ?? .rapl } catch { throw VraplError("\(error)") }
                try acc.builder.add(series: csv.series, targets: watts, segments: [], name: name, powerSource: source)
                acc.hidden += [Float](repeating: .nan, count: csv.series.count)
            } else {
                try acc.add(trace: try TraceReader.read(path), name: name)
            }
            log("  \(name): \(acc.builder.windowCount - before) windows")
        }
        return acc.build(sources: paths)
    }

    /// Windows of in-memory traces (tests, the simulator without files).
    public init(traces: [(trace: TraceData, name: String)], featureSet: FeatureSet, options: WindowOptions) throws {
        var acc = Accumulator(featureSet: featureSet, options: options)
        for t in traces { try acc.add(trace: t.trace, name: t.name) }
        self = acc.build(sources: traces.map(\.name))
    }

    struct Accumulator {
        var builder: WindowDatasetBuilder
        let featureSet: FeatureSet
        var hidden: [Float] = []
        var anyHidden = false
        var interval: Double? = nil
        var hostThreads: Int? = nil
        /// The host's pooled P_idle for derived guest views.
        var idleWatts: Double? = nil
        init(featureSet: FeatureSet, options: WindowOptions) {
            self.featureSet = featureSet
            builder = WindowDatasetBuilder(featureNames: featureSet.featureNames, options: options)
        }
        mutating func add(trace raw: TraceData, name: String) throws {
            let trace = try GuestViewDerivation.viewIfNeeded(raw, featureSet: featureSet, name: name, idleWatts: idleWatts)
            try builder.add(trace: trace, featureSet: featureSet, name: name)
            if let h = trace.simHiddenWatts, h.count == trace.sampleCount {
                hidden += h; anyHidden = true
            } else {
                hidden += [Float](repeating: .nan, count: trace.sampleCount)
            }
            if interval == nil { interval = Double(trace.metadata.sampleIntervalNs) / 1e9 }
            if hostThreads == nil, trace.metadata.coreCount > 0 { hostThreads = trace.metadata.coreCount }
        }
        mutating func build(sources: [String]) -> EvalData {
            var d = EvalData(dataset: builder.build(), hiddenWatts: anyHidden ? hidden : nil, sources: sources)
            if let interval, interval > 0 { d.sampleIntervalSeconds = interval }
            d.hostThreads = d.dataset.guestView?.host.threads ?? hostThreads
            return d
        }
    }

    /// Names of the feature columns that count as busy CPU time.
    public static let busyFeatureNames: Set<String> = ["user_percent", "nice_percent", "system_percent", "irq_percent",
                                                       "softirq_percent", "steal_percent"]

    /// Busy CPU of each window, percent: the mean over the window's d samples of the sum of its busy
    /// percentage features (decode-rapl-4: user% + system%; extended: user, nice, system, irq, softirq,
    /// steal). NaN when the feature set has none of them.
    public static func busyPercent(dataset ds: WindowDataset) -> [Double] {
        let cols = ds.featureNames.enumerated().filter { busyFeatureNames.contains($0.element) }.map(\.offset)
        guard !cols.isEmpty else { return [Double](repeating: .nan, count: ds.windowCount) }
        let d = ds.embedding.d, tau = ds.embedding.tau, n = ds.sampleCount
        var out = [Double](repeating: 0, count: ds.windowCount)
        ds.features.withUnsafeBufferPointer { f in
            for w in 0..<ds.windowCount {
                let end = Int(ds.windowEnds[w])
                var s = 0.0
                for c in cols { for k in 0..<d { s += Double(f[c * n + end - k * tau]) } }
                out[w] = min(100, max(0, s / Double(d)))
            }
        }
        return out
    }

    // MARK: Per-window facts

    public var windowCount: Int { dataset.windowCount }
    public func target(_ w: Int) -> Double { Double(dataset.targets[Int(dataset.windowEnds[w])]) }
    public func segment(_ w: Int) -> DatasetSegment { dataset.segments[Int(dataset.windowSegments[w])] }
    public func family(_ w: Int) -> String { segment(w).family }
    /// Segment label, prefixed by the trace name when there are several traces.
    public func segmentLabel(_ w: Int) -> String {
        let s = segment(w)
        return dataset.traces.count > 1 ? "\(dataset.traces[s.trace].name)/\(s.name)" : s.name
    }
    /// Trace index and trace-local sample position of a window's target.
    public func location(_ w: Int) -> (trace: Int, position: Int) { dataset.location(ofWindow: w) }
    /// `sim_hidden_w` at a window's target sample, or nil.
    public func hidden(_ w: Int) -> Double? {
        guard let h = hiddenWatts else { return nil }
        let v = h[Int(dataset.windowEnds[w])]
        return v.isFinite ? Double(v) : nil
    }

    /// Power source label of the data: `sim` if any trace is simulated (printed everywhere), else `rapl`.
    public var powerSourceLabel: String {
        dataset.traces.contains { $0.powerSource.isSimulated } ? "sim" : "rapl"
    }
    public var powerSources: [String] { dataset.powerSources.map(\.description) }

    /// Sample interval in seconds (for burst timing): the first trace's nominal interval, 16 ms when unknown.
    public var sampleIntervalSeconds: Double = 0.016
    /// T, the host's threads: the guest views' host, else the first trace's CPU count (nil for CSV input).
    public var hostThreads: Int? = nil

    /// The share s = k/T of the host that window `w`'s guest holds (its segment's `vcpus`); 1 for
    /// whole-host data.
    public func hostShare(_ w: Int) -> Double {
        guard let t = hostThreads, t > 0, let k = segment(w).parameters["vcpus"].flatMap(Int.init) else { return 1 }
        return min(1, Double(k) / Double(t))
    }
}
