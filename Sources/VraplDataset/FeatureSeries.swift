import Foundation
import VraplCore
import VraplTrace

/// A feature series: `featureCount` Float32 columns of `count` samples, stored feature-major
/// (`values[f * count + t]` is feature f at sample t, so each feature is one contiguous column).
/// Samples before `firstValid` have no features (a raw trace's sample 0 has no previous sample);
/// their entries are 0 and no window may reach them.
public struct FeatureSeries: Sendable {
    public var featureNames: [String]
    public var count: Int
    public var values: [Float]
    public var firstValid: Int
    /// Wall-clock time of each sample, seconds since the Unix epoch.
    public var timestampsUnix: [Double]

    public var featureCount: Int { featureNames.count }

    public init(featureNames: [String], count: Int, values: [Float], firstValid: Int, timestampsUnix: [Double]) {
        self.featureNames = featureNames; self.count = count; self.values = values
        self.firstValid = firstValid; self.timestampsUnix = timestampsUnix
    }

    /// Feature f at sample t.
    @inline(__always) public func value(feature f: Int, at t: Int) -> Float { values[f * count + t] }

    /// The first sample that ends a full window of `embedding` (features of every position defined).
    public func firstWindowEnd(_ embedding: DelayEmbedding) -> Int { firstValid + embedding.span }

    /// Writes the window ending at sample `end` (feature-major, newest first: `out[f·d + k]` is
    /// feature f at `end − k·tau`), unscaled. `end` must be at least `firstWindowEnd(embedding)`.
    public func window(endingAt end: Int, embedding: DelayEmbedding, into out: UnsafeMutablePointer<Float>) {
        let d = embedding.d, tau = embedding.tau
        values.withUnsafeBufferPointer { v in
            guard let base = v.baseAddress else { return }
            for f in 0..<featureCount {
                let column = base + f * count + end
                for k in 0..<d { out[f * d + embedding.slot(lag: k)] = column[-k * tau] }
            }
        }
    }

    /// Computes `featureSet` over a whole trace by running every sample through `FeatureExtractor`
    /// (the guest's code path). Throws when the set needs a counter the trace lacks.
    public init(trace: TraceData, featureSet: FeatureSet) throws {
        let n = trace.sampleCount
        let f = featureSet.count
        var pageFaults: [UInt64]? = nil
        if featureSet.needsPageFaults {
            guard let series = trace.vmstat.first(where: { $0.name == "pgfault" }), series.values.count == n else {
                throw VraplError("feature set '\(featureSet.name)' needs /proc/vmstat pgfault, which the trace (host '\(trace.metadata.hostName)') does not record")
            }
            pageFaults = series.values
        }
        let view = trace.guestView
        if featureSet.needsHostShape {
            guard let view, view.vcpus.count == n else {
                throw VraplError("feature set '\(featureSet.name)' needs a guest-view trace (per-sample vCPUs and the host's shape, /guest_view), which the trace (host '\(trace.metadata.hostName)') is not: simulate one with a matrix 'tenancy:' section")
            }
        }
        let usage = trace.cpuUsage
        if featureSet.needsCPUUsage {
            guard let usage, usage.userUsec.count == n, usage.systemUsec.count == n else {
                throw VraplError("busy time from cgroup-cpu-stat needs the trace's /cpu_usage (the cgroup v2 cpu.stat µs a collector records where the host has it, and the simulator always writes), which the trace (host '\(trace.metadata.hostName)') does not have: record it again, or train with busy_source: proc-stat")
            }
        }
        // The CPUs the busy µs are spread over: the guest's k, else the whole machine's.
        let machineCPUs = max(1, trace.metadata.coreCount)
        for (i, column) in trace.cpuFields.enumerated() where column.count != n {
            throw VraplError("trace column cpu_\(CPUTimes.fieldNames[i]) has \(column.count) samples, expected \(n)")
        }
        var values = [Float](repeating: 0, count: f * n)
        var extractor = FeatureExtractor(featureSet: featureSet, hostThreads: view?.host.threads)
        values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var stat = ProcStatSnapshot()
            for t in 0..<n {
                stat.cpu.user = trace.cpuFields[0][t]; stat.cpu.nice = trace.cpuFields[1][t]
                stat.cpu.system = trace.cpuFields[2][t]; stat.cpu.idle = trace.cpuFields[3][t]
                stat.cpu.iowait = trace.cpuFields[4][t]; stat.cpu.irq = trace.cpuFields[5][t]
                stat.cpu.softirq = trace.cpuFields[6][t]; stat.cpu.steal = trace.cpuFields[7][t]
                stat.cpu.guest = trace.cpuFields[8][t]; stat.cpu.guestNice = trace.cpuFields[9][t]
                stat.contextSwitches = t < trace.contextSwitches.count ? trace.contextSwitches[t] : 0
                stat.interrupts = t < trace.interrupts.count ? trace.interrupts[t] : 0
                stat.processesCreated = t < trace.processesCreated.count ? trace.processesCreated[t] : 0
                stat.procsRunning = t < trace.procsRunning.count ? trace.procsRunning[t] : 0
                stat.procsBlocked = t < trace.procsBlocked.count ? trace.procsBlocked[t] : 0
                let sample = RawSample(monotonicNs: trace.monotonicNs[t], stat: stat, pageFaults: pageFaults?[t],
                                       vcpus: view.map { Int($0.vcpus[t]) } ?? machineCPUs,
                                       cpuUsage: featureSet.needsCPUUsage ? usage?.usage(at: t) : nil)
                _ = extractor.push(sample, into: base + t, stride: n)
            }
        }
        let times = trace.wallClockNs.count == n ? trace.wallClockNs.map { Double($0) / 1e9 }
            : trace.monotonicNs.map { Double($0) / 1e9 }
        self.init(featureNames: featureSet.featureNames, count: n, values: values, firstValid: min(1, n), timestampsUnix: times)
    }
}

/// The model's target per sample interval: a guest view's share of the package (`GuestSharePower`)
/// when the trace is one, else the whole package (`PackagePower`).
public enum TargetPower {
    /// Watts and the count of implausible intervals (NaN) of the trace's target.
    public static func seriesWithImplausibleCount(trace: TraceData) throws -> (watts: [Float], implausible: Int) {
        if let view = trace.guestView { return try GuestSharePower.seriesWithImplausibleCount(trace: trace, view: view) }
        return try PackagePower.seriesWithImplausibleCount(trace: trace)
    }

    public static func series(trace: TraceData) throws -> [Float] { try seriesWithImplausibleCount(trace: trace).watts }

    /// What the target is, for model metadata: `package_power_watts` or `guest_share_watts`.
    public static func name(trace: TraceData) -> String { trace.guestView == nil ? "package_power_watts" : "guest_share_watts" }
}

/// A guest view's target: the guest's share of the package power by the view's rule, W per interval,
/// from `/guest_view/energy_uj` exactly as package watts come from a RAPL counter.
public enum GuestSharePower {
    public static func seriesWithImplausibleCount(trace: TraceData, view: GuestViewSeries) throws -> (watts: [Float], implausible: Int) {
        let zone = RaplDomainSeries(key: "guest_view", name: "package-share", maxEnergyRangeUj: view.maxEnergyRangeUj, energyUj: view.energyUj)
        var shareOnly = trace
        shareOnly.rapl = [zone]
        return try PackagePower.seriesWithImplausibleCount(trace: shareOnly)
    }
}

/// The whole host's target: package power in watts per sample interval.
public enum PackagePower {
    /// Package watts over the interval ending at each sample: the sum over every package zone
    /// (`package-N`) of `energyDelta` (wrap-around handled, VraplCore) divided by Δt from the
    /// monotonic clock. Sample 0 (no interval) and intervals with Δt = 0 are NaN.
    public static func series(trace: TraceData) throws -> [Float] {
        try seriesWithImplausibleCount(trace: trace).watts
    }

    /// `series` and the number of intervals left NaN because a zone's reading cannot be a measurement
    /// (`plausibleEnergyDelta`: a counter above its range, or more than 5 kW in one zone).
    public static func seriesWithImplausibleCount(trace: TraceData) throws -> (watts: [Float], implausible: Int) {
        let n = trace.sampleCount
        let zones = trace.rapl.filter(\.isPackage)
        guard !zones.isEmpty else {
            throw VraplError("the trace has no package RAPL zone (host '\(trace.metadata.hostName)'): no power to train on or score against")
        }
        for z in zones where z.energyUj.count != n {
            throw VraplError("RAPL zone \(z.key) has \(z.energyUj.count) samples, expected \(n)")
        }
        var watts = [Float](repeating: .nan, count: n)
        var implausible = 0
        guard n > 1 else { return (watts, 0) }
        for t in 1..<n {
            let t0 = trace.monotonicNs[t - 1], t1 = trace.monotonicNs[t]
            guard t1 > t0 else { continue }
            let seconds = Double(t1 - t0) / 1e9
            var uj: UInt64 = 0
            var plausible = true
            for z in zones {
                guard let delta = plausibleEnergyDelta(previous: Microjoules(z.energyUj[t - 1]), current: Microjoules(z.energyUj[t]),
                                                       maxRange: Microjoules(z.maxEnergyRangeUj), seconds: seconds) else {
                    plausible = false
                    break
                }
                uj &+= delta.value
            }
            if plausible { watts[t] = Float(Double(uj) / 1e6 / seconds) } else { implausible += 1 }
        }
        return (watts, implausible)
    }
}
