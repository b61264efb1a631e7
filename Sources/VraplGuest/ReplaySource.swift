import Foundation
import VraplCore
import VraplDataset
import VraplTrace

/// A recording seen as the sequence of raw samples the live loop would have read, converted exactly
/// as `FeatureSeries.init(trace:featureSet:)` converts them for training.
public struct TraceDataSource {
    public let name: String
    public let trace: TraceData
    private let pageFaults: [UInt64]?
    /// The recording's target watts per sample (NaN where undefined): the package, or a guest view's
    /// share of it; nil when it has neither.
    public let packageWatts: [Float]?

    public init(trace: TraceData, name: String) {
        self.trace = trace
        self.name = name
        if let series = trace.vmstat.first(where: { $0.name == "pgfault" }), series.values.count == trace.sampleCount {
            pageFaults = series.values
        } else {
            pageFaults = nil
        }
        packageWatts = (try? TargetPower.series(trace: trace))
    }

    /// Reads an HDF5 recording (one-line errors from the trace store name the file); a guest-shaped
    /// feature set replays the guest view of a host trace with per-CPU lines (`GuestViewDerivation`).
    public init(path: String, featureSet: FeatureSet? = nil) throws {
        var trace = try TraceReader.read(path)
        if let featureSet { trace = try GuestViewDerivation.viewIfNeeded(trace, featureSet: featureSet, name: path) }
        self.init(trace: trace, name: path)
    }

    public var count: Int { trace.sampleCount }
    public var sampleIntervalNs: UInt64 { trace.metadata.sampleIntervalNs }
    public var hasPageFaults: Bool { pageFaults != nil }

    public func wallClockUnix(_ t: Int) -> Double {
        t < trace.wallClockNs.count ? Double(trace.wallClockNs[t]) / 1e9 : Double(trace.monotonicNs[t]) / 1e9
    }

    public func sample(_ t: Int) -> RawSample {
        var stat = ProcStatSnapshot()
        let c = trace.cpuFields
        func field(_ i: Int) -> UInt64 { t < c[i].count ? c[i][t] : 0 }
        stat.cpu.user = field(0); stat.cpu.nice = field(1); stat.cpu.system = field(2); stat.cpu.idle = field(3)
        stat.cpu.iowait = field(4); stat.cpu.irq = field(5); stat.cpu.softirq = field(6); stat.cpu.steal = field(7)
        stat.cpu.guest = field(8); stat.cpu.guestNice = field(9)
        stat.contextSwitches = t < trace.contextSwitches.count ? trace.contextSwitches[t] : 0
        stat.interrupts = t < trace.interrupts.count ? trace.interrupts[t] : 0
        stat.processesCreated = t < trace.processesCreated.count ? trace.processesCreated[t] : 0
        stat.procsRunning = t < trace.procsRunning.count ? trace.procsRunning[t] : 0
        stat.procsBlocked = t < trace.procsBlocked.count ? trace.procsBlocked[t] : 0
        // As FeatureSeries does: k of a guest view, else the whole machine's CPUs; busy µs when recorded.
        let vcpus = trace.guestView.map { t < $0.vcpus.count ? Int($0.vcpus[t]) : 0 } ?? max(1, trace.metadata.coreCount)
        let usage = trace.cpuUsage.flatMap { t < $0.userUsec.count && t < $0.systemUsec.count ? $0.usage(at: t) : nil }
        return RawSample(monotonicNs: trace.monotonicNs[t], stat: stat, pageFaults: pageFaults?[t], vcpus: vcpus, cpuUsage: usage)
    }
}
