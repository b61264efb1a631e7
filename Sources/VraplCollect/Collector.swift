import Glibc
import VraplCore
import VraplSources
import VraplTrace

/// Where `vrapl-collect` sends each sample: the HDF5 `TraceWriter` in production, memory in tests.
/// `append` must not allocate in steady state; `close` flushes everything.
public protocol SampleSink: AnyObject {
    /// One sample; `cpuUsage` is the busy time of a recording that reads it (nil otherwise).
    func append(monotonicNs: UInt64, wallClockNs: Int64, stat: ProcStatSnapshot,
                vmstat: UnsafeBufferPointer<UInt64>, energyUj: UnsafeBufferPointer<UInt64>, cpuUsage: CPUUsage?) throws
    func close() throws
}

/// The settings of one recording (the `vrapl-collect` options).
public struct CollectorConfiguration: Sendable {
    public enum Power: String, Sendable, CaseIterable {
        /// RAPL through powercap under `sysfs`.
        case rapl
        /// `SimulatedEnergySource` driven by the real /proc/stat (`sim:basic`).
        case sim
    }

    public var outputPath: String
    public var intervalNs: UInt64 = 16_000_000
    /// nil: until SIGINT/SIGTERM.
    public var durationNs: UInt64? = nil
    public var labels: [String: String] = [:]
    public var power: Power = .rapl
    public var procfs = "/proc"
    public var sysfs = "/sys"
    public var flushIntervalNs: UInt64 = 1_000_000_000
    public var vmstatCounters: [String] = VmstatDefaults.counters
    /// Live status line on stderr once a second; nil: when stderr is a terminal.
    public var statusLine: Bool? = nil
    /// Seed of the simulated source's noise (nil: from the clock).
    public var simSeed: UInt64? = nil
    /// Record every per-CPU line of /proc/stat (`/percpu`), from the same read.
    public var perCPU = true
    /// Record the busy time in µs of the cgroup v2 root `cpu.stat` (`/cpu_usage`) where the host
    /// has one (the finer busy source, docs/PERFORMANCE.md "Busy-time sources").
    public var cpuUsage = true
    /// The cgroup v2 mount for `cpu.stat` (nil: this host's, from /proc/self/mounts).
    public var cgroupfs: String? = nil

    public init(outputPath: String) { self.outputPath = outputPath }

    /// Number of samples a run with a duration takes: ticks `0 ..< ⌈duration / interval⌉`.
    public var plannedSamples: Int? {
        guard let d = durationNs, intervalNs > 0 else { return nil }
        return Int((d + intervalNs - 1) / intervalNs)
    }
}

/// What a finished recording reports (`description` is what `vrapl-collect` prints on exit).
public struct CollectorSummary: Sendable, CustomStringConvertible {
    public var outputPath: String
    public var samples: Int
    public var missedDeadlines: Int
    /// From the loop's histogram (percentiles to ±5 µs); nil for fewer than two samples.
    public var intervals: IntervalStatistics?
    public var elapsedNs: UInt64
    /// CLOCK_MONOTONIC time at which tick 0 was due: tick k was due at `startNs + k·interval`.
    public var startNs: UInt64
    public var powerSource: PowerSource
    /// SIGINT or SIGTERM when a signal ended the run, else 0.
    public var stoppedBySignal: Int32
    /// Ticks skipped because their source reads failed twice (`ReadRetry`), and reads that needed a retry.
    public var skippedReads: Int = 0
    public var retriedReads: Int = 0

    public var description: String {
        func ms(_ ns: UInt64) -> String { String(cFormat: "%.3f ms", Double(ns) / 1e6) }
        var lines = ["samples \(samples) in \(String(cFormat: "%.2f", Double(elapsedNs) / 1e9)) s, missed deadlines \(missedDeadlines)"]
        if let i = intervals {
            lines.append("interval p50 \(ms(i.p50Ns)), p99 \(ms(i.p99Ns)), max \(ms(i.maxNs)) (min \(ms(i.minNs)), mean \(String(cFormat: "%.3f ms", i.meanNs / 1e6)))")
        }
        if skippedReads > 0 || retriedReads > 0 {
            lines.append("source reads: \(retriedReads) retried, \(skippedReads) ticks skipped (read failed twice)")
        }
        let why = stoppedBySignal == SIGINT ? " (stopped by SIGINT)" : stoppedBySignal == SIGTERM ? " (stopped by SIGTERM)" : ""
        lines.append("trace \(outputPath), power source \(powerSource)\(why)")
        return lines.joined(separator: "\n")
    }
}

/// The 16 ms sampling loop. Sample k is due at `t0 + k·interval` on CLOCK_MONOTONIC and is waited
/// for with an absolute `clock_nanosleep`, so lateness never accumulates into drift. Each tick reads
/// /proc/stat, /proc/vmstat and the energy source once from files kept open, records the actual
/// monotonic and wall-clock time, and appends to the sink; nothing in that path allocates (the status
/// line, on a terminal only, formats one string a second). When a tick's slot is entirely over before
/// it could be taken (the next tick is already due), it is skipped and counted as a missed deadline.
public final class Collector {
    public let configuration: CollectorConfiguration
    public let stat: ProcStatReader
    public let vmstat: KeyedCounterReader
    public let energy: EnergySource
    /// Root attributes for the trace (start time is set when `run` starts).
    public private(set) var metadata: TraceMetadata
    /// The CPUs whose per-CPU lines are recorded, in column order (empty with `perCPU` off).
    public let perCPUIDs: [Int]
    /// The root `cpu.stat` reader, when busy time is recorded.
    public let cpuUsage: CPUUsageReader?
    /// Why busy time is not recorded (nil when it is, or when `cpuUsage` is off).
    public let cpuUsageUnavailable: String?

    /// Opens every source (failing here, with the source's message, before any file is written).
    public init(configuration: CollectorConfiguration) throws {
        guard configuration.intervalNs >= 1_000_000 else {
            throw VraplError("--interval \(DurationText.format(nanoseconds: configuration.intervalNs)) is below 1 ms; /proc/stat only changes every 10 ms (USER_HZ 100)")
        }
        self.configuration = configuration
        stat = try ProcStatReader(procfs: configuration.procfs, includePerCPU: configuration.perCPU)
        vmstat = try KeyedCounterReader(procfs: configuration.procfs, counters: configuration.vmstatCounters)
        switch configuration.power {
        case .rapl: energy = try PowercapReader(sysfs: configuration.sysfs)
        case .sim:
            energy = SimulatedEnergySource(cpuCount: stat.cpuCount,
                                           seed: configuration.simSeed ?? (SampleClock.monotonicNs() | 1))
        }
        var m = TraceMetadata()
        m.hostName = HostInfo.hostName()
        m.cpuModel = HostInfo.cpuModel(procfs: configuration.procfs)
        m.kernel = HostInfo.kernel()
        m.coreCount = stat.cpuCount
        m.sampleIntervalNs = configuration.intervalNs
        m.powerSource = energy.powerSource
        m.userHz = HostInfo.userHz()
        m.labels = configuration.labels
        m.topology = HostTopology.read(sysfs: configuration.sysfs)
        metadata = m
        if configuration.perCPU {
            // Columns: the online CPUs when sysfs says which, else every cpuN line of the first read.
            let first = try stat.read()
            let ids = m.topology?.online.filter { $0 < first.perCPU.count } ?? Array(0..<first.perCPU.count)
            perCPUIDs = ids.isEmpty ? Array(0..<first.perCPU.count) : ids
        } else {
            perCPUIDs = []
        }
        if configuration.cpuUsage {
            do {
                let r = try CPUUsageReader.ofHost(cgroupfs: configuration.cgroupfs)
                _ = try r.read()
                cpuUsage = r; cpuUsageUnavailable = nil
            } catch {
                cpuUsage = nil; cpuUsageUnavailable = "\(error)"
            }
        } else {
            cpuUsage = nil; cpuUsageUnavailable = nil
        }
    }

    /// `/cpu_usage@source` of the trace: `cgroup2:<path>`, nil when busy time is not recorded.
    public var cpuUsageSource: String? { cpuUsage.map { "cgroup2:" + $0.path } }

    /// The RAPL zones in trace form (energy left empty), in the order samples carry them.
    public var raplZones: [RaplDomainSeries] {
        energy.zones.map { RaplDomainSeries(key: $0.key, name: $0.name, maxEnergyRangeUj: $0.maxEnergyRange.value) }
    }

    /// Sets the start time (wall clock, ns) written as the `start_time` attribute; `run` uses the time of sample 0.
    public func setStartTime(_ ns: Int64) { metadata.startTimeNs = ns }

    /// Runs the loop into `sink` until the duration is over or `shouldStop` says so (checked before
    /// every tick and whenever a signal interrupts the sleep), then closes the sink.
    public func run(into sink: SampleSink, shouldStop: () -> Bool = { StopSignal.received != 0 }) throws -> CollectorSummary {
        let interval = configuration.intervalNs
        let planned = configuration.plannedSamples
        var snapshot = ProcStatSnapshot()
        var vmValues = [UInt64](repeating: 0, count: vmstat.counters.count)
        var energyValues = [Microjoules](repeating: Microjoules(0), count: energy.zones.count)
        var energyRaw = [UInt64](repeating: 0, count: energy.zones.count)
        var busy: CPUUsage? = nil
        var histogram = IntervalHistogram()
        let status = StatusLine(enabled: configuration.statusLine ?? (isatty(STDERR_FILENO) != 0), energy: energy)

        var samples = 0, missed = 0
        var retry = ReadRetry(intervalNs: interval)
        var tick: UInt64 = 0
        var previousNs: UInt64 = 0
        let t0 = SampleClock.monotonicNs()
        var lastNs = t0
        var nextStatusNs = t0 + 1_000_000_000
        do {
            tickLoop: while true {
                if let planned, tick >= UInt64(planned) { break }
                let due = t0 &+ tick &* interval
                while true {
                    if shouldStop() { break tickLoop }
                    if SampleClock.sleep(untilMonotonicNs: due) { break }
                }
                let now = SampleClock.monotonicNs()
                let wall = SampleClock.wallNs()
                if samples == 0 { metadata.startTimeNs = wall }
                // A failed read is retried once; a tick that still fails is skipped (and counted), never
                // recorded half-read; only a persistent failure ends the recording.
                let read = try retry.attempt {
                    try stat.read(into: &snapshot)
                    try vmstat.read(into: &vmValues)
                    try energy.sample(stat: snapshot, monotonicNs: now, into: &energyValues)
                    if let cpuUsage { busy = try cpuUsage.read() }
                }
                if read {
                    for i in 0..<energyValues.count { energyRaw[i] = energyValues[i].value }
                    try vmValues.withUnsafeBufferPointer { v in
                        try energyRaw.withUnsafeBufferPointer { e in
                            try sink.append(monotonicNs: now, wallClockNs: wall, stat: snapshot, vmstat: v, energyUj: e, cpuUsage: busy)
                        }
                    }
                    if samples > 0 { histogram.add(now &- previousNs) }
                    previousNs = now
                    lastNs = now
                    samples += 1
                    if samples == 1, status.enabled { status.prime(energy: energyRaw, monotonicNs: now) }
                }

                // Next tick; skip those whose slot is already over.
                let after = SampleClock.monotonicNs()
                var next = tick + 1
                if after >= t0 &+ (next + 1) &* interval {
                    next = (after - t0) / interval
                    if let planned { next = min(next, UInt64(planned)) }
                    missed += Int(next - tick - 1)
                }
                tick = next
                if status.enabled, now >= nextStatusNs {
                    nextStatusNs += 1_000_000_000
                    status.show(elapsedNs: now - t0, samples: samples, missed: missed, histogram: histogram,
                                energy: energyRaw, monotonicNs: now)
                }
            }
        } catch {
            try? sink.close()
            status.finish()
            throw error
        }
        try sink.close()
        status.finish()
        return CollectorSummary(outputPath: configuration.outputPath, samples: samples, missedDeadlines: missed,
                                intervals: histogram.statistics, elapsedNs: lastNs - t0, startNs: t0,
                                powerSource: energy.powerSource, stoppedBySignal: StopSignal.received,
                                skippedReads: retry.skippedTicks, retriedReads: retry.retriedReads)
    }
}

/// The live line on stderr: elapsed time, samples, missed deadlines, interval p99/max, package power.
final class StatusLine {
    let enabled: Bool
    private let packageIndex: Int?
    private let maxRange: Microjoules
    private var lastEnergy: UInt64? = nil
    private var lastNs: UInt64 = 0

    init(enabled: Bool, energy: EnergySource) {
        self.enabled = enabled
        packageIndex = energy.zones.firstIndex { $0.isPackage }
        maxRange = packageIndex.map { energy.zones[$0].maxEnergyRange } ?? Microjoules(0)
    }

    /// Remembers the first sample's package energy, so the first line already shows power.
    func prime(energy: [UInt64], monotonicNs: UInt64) {
        if let i = packageIndex, i < energy.count { lastEnergy = energy[i]; lastNs = monotonicNs }
    }

    func show(elapsedNs: UInt64, samples: Int, missed: Int, histogram: IntervalHistogram, energy: [UInt64], monotonicNs: UInt64) {
        var text = String(cFormat: "\r\u{1B}[2K%7.1f s  %ld samples  missed %ld", Double(elapsedNs) / 1e9, samples, missed)
        if let p99 = histogram.percentile(99) {
            text += String(cFormat: "  p99 %.2f ms  max %.2f ms", Double(p99) / 1e6, Double(histogram.maxNs) / 1e6)
        }
        if let i = packageIndex, i < energy.count {
            if let last = lastEnergy, monotonicNs > lastNs {
                let d = energyDelta(previous: Microjoules(last), current: Microjoules(energy[i]), maxRange: maxRange)
                text += String(cFormat: "  package %.1f W", Double(d.value) / (Double(monotonicNs - lastNs) / 1e3))
            }
            lastEnergy = energy[i]
            lastNs = monotonicNs
        }
        fputs(text, stderr)
    }

    func finish() {
        if enabled { fputs("\n", stderr) }
    }
}
