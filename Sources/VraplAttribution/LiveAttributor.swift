import Foundation
import VraplCore
import VraplSources

/// Live attribution: each `step()` reads CPU energy, GPUs and cgroups and attributes the interval
/// since the previous step. Deterministic given its sources, so tests drive it with fixture trees,
/// scripted power and an injected clock.
public final class LiveAttributor {
    public let attributor: Attributor
    public let sampler: UsageSampler
    public let cpu: CPUPowerSource
    public let gpu: GPUSource?
    private let clock: () -> Double
    private let memoryTotalBytes: Double?
    private let procfs: String
    private var previous: (time: Double, energy: Joules, usage: UsageSnapshot, gpus: [GPUSample])?
    /// The most recent intervals (at most `historyLimit`); older ones are folded into `droppedTotals`,
    /// so a daemon's memory stays bounded while its counters keep counting.
    public private(set) var intervals: [IntervalAttribution] = []
    public private(set) var droppedTotals = AttributionReport.Totals()
    /// Totals of every interval since `prime()`, kept incrementally (O(workloads) per step).
    public private(set) var runningTotals = AttributionReport.Totals()
    public var historyLimit = 3600

    /// - Parameters: `clock` returns monotonic seconds; `memoryTotalBytes` nil reads `<procfs>/meminfo`
    ///   unless the config sets `memory.total_gb`.
    public init(config: AttributionConfig, cgroups: CGroupReader, cpu: CPUPowerSource, gpu: GPUSource? = nil,
                procfs: String = "/proc", memoryTotalBytes: Double? = nil, clock: @escaping () -> Double = SampleClock.monotonicSeconds) {
        attributor = Attributor(config: config)
        sampler = UsageSampler(config: config, reader: cgroups)
        self.cpu = cpu
        self.gpu = gpu
        self.clock = clock
        self.procfs = procfs
        self.memoryTotalBytes = memoryTotalBytes ?? config.memoryTotalGB.map { $0 * bytesPerGB } ?? Self.memTotal(procfs: procfs)
    }


    /// `MemTotal` from `<procfs>/meminfo`, bytes.
    static func memTotal(procfs: String) -> Double? {
        guard case .success(let text) = TextFile.readSmall(procfs + "/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let f = line.split(separator: " ")
            if f.count >= 2, let kb = Double(f[1]) { return kb * 1024 }
        }
        return nil
    }

    /// First reading; returns nothing to attribute yet.
    public func prime() throws {
        let t = clock()
        previous = (t, try cpu.cumulativeEnergy(now: t), sampler.snapshot(time: t), (try? gpu?.sample()) ?? [])
    }

    /// Reads everything and attributes the interval since the previous reading.
    @discardableResult
    public func step() throws -> IntervalAttribution {
        guard let prev = previous else {
            try prime()
            throw VraplError("live attribution: step() before prime(); primed now")
        }
        let t = clock()
        let energy = try cpu.cumulativeEnergy(now: t)
        let usage = sampler.snapshot(time: t)
        var notes: [String] = []
        var gpus: [GPUSample] = []
        if let gpu {
            do { gpus = try gpu.sample() } catch { notes.append("gpu: \(error)") }
        }
        let dt = max(t - prev.time, 1e-9)
        var gpuIntervals: [GPUInterval] = []
        for g in gpus {
            guard let g0 = prev.gpus.first(where: { $0.index == g.index }) else { continue }
            gpuIntervals.append(GPUInterval(index: g.index, energy: GPUSample.energy(from: g0, to: g, seconds: dt),
                                            utilizationPct: g.utilizationPct))
        }
        var usageInterval = sampler.interval(from: prev.usage, to: usage)
        let specs = usage.order.compactMap { usage.workloads[$0]?.spec }
        let gpuUtil = GPUWorkloadMapper.utilization(samples: gpus, workloads: specs) { [procfs] pid in
            GPUWorkloadMapper.cgroupOfPid(pid, procfs: procfs)
        }
        for i in usageInterval.workloads.indices {
            usageInterval.workloads[i].gpuUtilizationPct = gpuUtil[usageInterval.workloads[i].name] ?? [:]
        }
        let system = SystemInterval(start: prev.time, duration: Seconds(dt), cpu: Joules(max(0, energy.value - prev.energy.value)),
                                    gpus: gpuIntervals, systemCPUUsageUsec: (cpu as? SimulatedCPUPowerSource)?.lastBusyUsec, phase: "live")
        var result = attributor.attribute(system: system, usage: usageInterval, memoryTotalBytes: memoryTotalBytes)
        result.notes.append(contentsOf: notes)
        previous = (t, energy, usage, gpus)
        intervals.append(result)
        runningTotals.add(result)
        if intervals.count > max(historyLimit, 1) {
            let excess = intervals.count - max(historyLimit, 1)
            for old in intervals.prefix(excess) { droppedTotals.add(old) }
            intervals.removeFirst(excess)
        }
        return result
    }

    /// Whole-run totals without per-interval detail: cheap enough to export every interval
    /// (`prometheus()`, JSON totals).
    public func totalsReport(configName: String) -> AttributionReport {
        var groups: [String: [String]] = [:]
        for spec in sampler.currentWorkloads() { groups[spec.name] = spec.cgroups }
        var r = AttributionReport(configName: configName, cpuPower: cpu.powerSource, intervals: [], workloadCGroups: groups)
        r.prior = runningTotals
        return r
    }

    /// A report over everything since `prime()`: held intervals plus the totals of dropped ones.
    public func report(configName: String) -> AttributionReport {
        var groups: [String: [String]] = [:]
        for spec in sampler.currentWorkloads() { groups[spec.name] = spec.cgroups }
        var r = AttributionReport(configName: configName, cpuPower: cpu.powerSource, intervals: intervals, workloadCGroups: groups)
        r.prior = droppedTotals
        return r
    }
}
