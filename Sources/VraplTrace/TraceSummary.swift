#if canImport(FoundationEssentials)
import FoundationEssentials  // Date's ISO 8601 style; the recording chain does not link Foundation
#else
import Foundation
#endif
import VraplCore

/// What `vrapl inspect` prints about a trace: timing quality, power per zone, a feature summary and
/// the segments. Built from a `TraceData` and its `DerivedSeries`.
public struct TraceSummary: Sendable {
    /// Mean, minimum and maximum of a series.
    public struct Stats: Sendable, Equatable {
        public var mean: Double
        public var min: Double
        public var max: Double

        public init(_ values: [Double]) {
            guard !values.isEmpty else { mean = 0; min = 0; max = 0; return }
            // NaN (an implausible reading, reported on its own line) is left out.
            var sum = 0.0, lo = Double.infinity, hi = -Double.infinity, count = 0
            for v in values where !v.isNaN { sum += v; lo = Swift.min(lo, v); hi = Swift.max(hi, v); count += 1 }
            guard count > 0 else { mean = .nan; min = .nan; max = .nan; return }
            mean = sum / Double(count); min = lo; max = hi
        }
    }

    public var path: String
    public var metadata: TraceMetadata
    public var sampleCount: Int
    /// Last minus first monotonic timestamp, seconds.
    public var durationSeconds: Double
    /// Interval percentiles and maximum, milliseconds (nearest rank).
    public var intervalP50Ms: Double
    public var intervalP99Ms: Double
    public var intervalMaxMs: Double
    /// Intervals longer than 1.5 × the nominal sample interval.
    public var missedDeadlines: Int
    /// Intervals whose RAPL reading cannot be a measurement (`DerivedSeries.implausiblePowerIntervals`).
    public var implausiblePowerIntervals: [Int] = []
    /// Recorded per-CPU columns, and a guest view's one-line description, when the trace has them.
    public var perCPUIDs: [Int]? = nil
    public var guestView: String? = nil
    public var zones: [(key: String, name: String, watts: Stats)]
    public var packageWatts: Stats?
    /// Feature name → statistics over the intervals.
    public var features: [(name: String, stats: Stats)]
    public var hasSimHiddenWatts: Bool
    public var segments: [TraceSegment]

    public init(trace: TraceData, path: String) {
        let derived = DerivedSeries(trace)
        self.path = path
        metadata = trace.metadata
        sampleCount = trace.sampleCount
        if let first = trace.monotonicNs.first, let last = trace.monotonicNs.last, last > first {
            durationSeconds = Double(last - first) / 1e9
        } else {
            durationSeconds = 0
        }
        let sorted = derived.intervalSeconds.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
            return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank))] * 1000
        }
        intervalP50Ms = percentile(0.5)
        intervalP99Ms = percentile(0.99)
        intervalMaxMs = (sorted.last ?? 0) * 1000
        let limit = 1.5 * Double(trace.metadata.sampleIntervalNs) / 1e9
        missedDeadlines = sorted.reduce(0) { $0 + ($1 > limit ? 1 : 0) }
        zones = derived.zones.map { (key: $0.key, name: $0.name, watts: Stats($0.watts)) }
        packageWatts = derived.packageWatts.map(Stats.init)
        implausiblePowerIntervals = derived.implausiblePowerIntervals
        var features: [(String, Stats)] = [
            ("user_percent", Stats(derived.userPercent)),
            ("system_percent", Stats(derived.systemPercent)),
            ("iowait_percent", Stats(derived.iowaitPercent)),
            ("busy_percent", Stats(derived.busyPercent)),
            ("ctx_switches_per_sec", Stats(derived.contextSwitchesPerSecond)),
            ("interrupts_per_sec", Stats(derived.interruptsPerSecond)),
            ("forks_per_sec", Stats(derived.processesPerSecond)),
            ("procs_running", Stats(derived.procsRunning)),
            ("procs_blocked", Stats(derived.procsBlocked)),
        ]
        for rate in derived.vmstatPerSecond { features.append(("\(rate.name)_per_sec", Stats(rate.perSecond))) }
        self.features = features.map { (name: $0.0, stats: $0.1) }
        hasSimHiddenWatts = trace.simHiddenWatts != nil
        segments = trace.segments
        perCPUIDs = trace.perCPU?.cpuIDs
        guestView = trace.guestView.map { v in
            "k = \(v.vcpuRange.map { "\($0.lowerBound)…\($0.upperBound)" } ?? "?") vCPUs of a \(v.host.threads)-thread host (P_idle \(String(cFormat: "%.2f", v.host.idleWatts)) W); target: its share by \(v.rule.rawValue)"
        }
    }

    /// The human-readable report.
    public func render() -> String {
        let f = Self.fixed
        var lines: [String] = []
        lines.append("trace          \(path)")
        lines.append("power source   \(metadata.powerSource)\(metadata.powerSource.isSimulated ? "  (SIMULATED power, not a measurement)" : "")")
        lines.append("host           \(metadata.hostName.isEmpty ? "?" : metadata.hostName), \(metadata.coreCount) cores, \(metadata.cpuModel.isEmpty ? "unknown CPU" : metadata.cpuModel)")
        lines.append("kernel         \(metadata.kernel.isEmpty ? "?" : metadata.kernel)   vrapl \(metadata.toolVersion)   format v\(metadata.formatVersion)")
        if metadata.startTimeNs > 0 {
            let start = Date(timeIntervalSince1970: Double(metadata.startTimeNs) / 1e9)
            lines.append("start          \(start.formatted(.iso8601))")
        }
        lines.append("samples        \(sampleCount) over \(f(durationSeconds, 3)) s")
        let nominal = Double(metadata.sampleIntervalNs) / 1e6
        lines.append("interval       nominal \(f(nominal, 3)) ms   p50 \(f(intervalP50Ms, 3)) ms   p99 \(f(intervalP99Ms, 3)) ms   max \(f(intervalMaxMs, 3)) ms")
        lines.append("missed         \(missedDeadlines) intervals > \(f(1.5 * nominal, 3)) ms (1.5 × nominal)")
        if let t = metadata.topology {
            lines.append("topology       \(t.logicalCPUs) logical CPUs" + (t.cores.map { ", \($0) cores" } ?? "") + (t.sockets.map { ", \($0) sockets" } ?? "")
                         + ", \(t.siblings.filter { $0.count > 1 }.count) SMT sibling groups")
        }
        if let ids = perCPUIDs { lines.append("per-CPU lines  \(ids.count) CPUs recorded (/percpu)") }
        if let g = guestView { lines.append("guest view     \(g)") }
        if !metadata.labels.isEmpty {
            lines.append("labels         " + metadata.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        lines.append("")
        if zones.isEmpty {
            lines.append("power          no RAPL zone recorded")
        } else {
            lines.append("power (W)      zone                        mean       min       max")
            for zone in zones { lines.append(statsRow("\(zone.name) (\(zone.key))", zone.watts)) }
            if let p = packageWatts { lines.append(statsRow("package total", p)) }
        }
        if let first = implausiblePowerIntervals.first {
            lines.append("               WARNING: \(implausiblePowerIntervals.count) intervals with an implausible RAPL reading "
                         + "(a counter above its range or over 5 kW in one zone; first between samples \(first) and \(first + 1)): "
                         + "left out of the figures above, of training and of evaluation")
        }
        if hasSimHiddenWatts { lines.append("               sim_hidden_w present (simulator only, never a feature)") }
        lines.append("")
        lines.append("features       name                        mean       min       max")
        for feature in features { lines.append(statsRow(feature.name, feature.stats)) }
        lines.append("")
        if segments.isEmpty {
            lines.append("segments       none")
        } else {
            lines.append("segments       \(segments.count)")
            for s in segments {
                let parameters = s.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                lines.append("               \(s.name): samples \(s.firstSample)…\(s.lastSample)\(parameters.isEmpty ? "" : "  " + parameters)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func fixed(_ x: Double, _ digits: Int = 2) -> String { String(cFormat: "%.\(digits)f", x) }

    /// One row of the power and feature tables: the label in 26 columns, then mean, min and max in 9 each.
    private func statsRow(_ label: String, _ s: Stats) -> String {
        func pad(_ s: String) -> String { String(repeating: " ", count: Swift.max(0, 9 - s.count)) + s }
        return "               \(label.padded(to: 26)) \(pad(Self.fixed(s.mean))) \(pad(Self.fixed(s.min))) \(pad(Self.fixed(s.max)))"
    }
}
