import Foundation
import VraplCore

/// A named, selectable set of guest-visible features. The names are what a model stores in its
/// `features` metadata, in input order; `FeatureExtractor` computes them from raw counters.
///
/// - `decode-rapl-4` (DECODE-RAPL's reference set, docs/model-format.md "Windows"):
///   user% = Δuser / (Δuser + Δsystem + Δidle + Δiowait) × 100, likewise system% and iowait%,
///   and log1p(Δctxt / Δt), Δt in seconds from the monotonic clock.
/// - `extended`: every /proc/stat cpu field as a percentage of the proper total
///   (user + nice + system + idle + iowait + irq + softirq + steal; guest and guest_nice are already
///   counted inside user and nice by the kernel, so they are not added again), then
///   log1p of context switches/s, interrupts/s, forks/s, the gauges procs_running (run-queue length)
///   and procs_blocked, and log1p of page faults/s (`/proc/vmstat pgfault`).
/// - `guest-share-5`: `decode-rapl-4` over the guest's own k CPUs, plus `vcpu_share` = k / T, the
///   guest's vCPUs over its host's threads (constant while k is): the host shape as an input, so a
///   guest-shaped model keeps the v4.1 architecture and its PyTorch names (docs/guest.md "A VM is a slice
///   of its host"). T comes from the trace's guest view in training and from the model in the guest.
///
/// `busySource` says where user % and system % come from (`BusyTimeSource`): /proc/stat ticks
/// (default, every trace), or the cgroup v2 root `cpu.stat` in µs (`/cpu_usage`): then
/// user % = Δuser_usec / (Δt · k) · 100 and system % likewise, k the CPUs the counters cover (the
/// guest's vCPUs, or the whole machine's), Δt the monotonic interval; iowait % stays a tick share.
/// The feature names do not change, so a model records the source separately (`busy_source`).
public struct FeatureSet: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable { case decodeRapl4 = "decode-rapl-4", extended, guestShare5 = "guest-share-5" }

    public let kind: Kind
    /// Where the busy percentages come from (decode-rapl-4 and guest-share-5).
    public var busySource: BusyTimeSource = .procStat
    /// Selection name (`features:` in the YAML config).
    public var name: String { kind.rawValue }
    /// Feature names in input order (the model's `features` metadata).
    public var featureNames: [String] {
        switch kind {
        case .decodeRapl4:
            return ["user_percent", "system_percent", "iowait_percent", "log_ctx_switches"]
        case .extended:
            return CPUTimes.fieldNames.map { "\($0)_percent" } +
                ["log_ctx_switches", "log_interrupts", "log_forks", "procs_running", "procs_blocked", "log_page_faults"]
        case .guestShare5:
            return FeatureSet.decodeRapl4.featureNames + ["vcpu_share"]
        }
    }
    public var count: Int { featureNames.count }
    /// True when the set needs the `pgfault` counter of /proc/vmstat.
    public var needsPageFaults: Bool { kind == .extended }
    /// True when the set needs the host shape (k per sample and the host's T): a guest-shaped model.
    public var needsHostShape: Bool { kind == .guestShare5 }
    public var description: String { busySource == .procStat ? name : name + " (busy time from " + busySource.rawValue + ")" }
    /// True when the set reads busy time from `/cpu_usage` (cgroup v2 `cpu.stat`).
    public var needsCPUUsage: Bool { busySource == .cgroupCPUStat && kind != .extended }

    /// This set with its busy percentages from `source`.
    public func withBusySource(_ source: BusyTimeSource) -> FeatureSet {
        var s = self
        s.busySource = source
        return s
    }

    public static let decodeRapl4 = FeatureSet(kind: .decodeRapl4)
    public static let extended = FeatureSet(kind: .extended)
    public static let guestShare5 = FeatureSet(kind: .guestShare5)
    public static let all: [FeatureSet] = Kind.allCases.map { FeatureSet(kind: $0) }

    public init(kind: Kind) { self.kind = kind }

    /// Looks a set up by its selection name (`decode-rapl-4`, `extended`).
    public init(named name: String) throws {
        guard let kind = Kind(rawValue: name) else {
            throw VraplError("unknown feature set '\(name)' (known: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.kind = kind
    }

    /// Finds the set whose feature names are exactly `names` (a model's `features` metadata).
    public init(featureNames names: [String]) throws {
        guard let set = FeatureSet.all.first(where: { $0.featureNames == names }) else {
            throw VraplError("no feature set computes the features \(names)")
        }
        self = set
    }
}

/// One raw reading of the guest-visible counters, as a guest reads it live or a trace stores it.
public struct RawSample: Sendable, Equatable {
    /// Monotonic clock, ns.
    public var monotonicNs: UInt64
    /// /proc/stat.
    public var stat: ProcStatSnapshot
    /// /proc/vmstat `pgfault` (cumulative), when read; only the `extended` set needs it.
    public var pageFaults: UInt64?
    /// k: the guest's online vCPUs (its `cpuN` lines), 0 when unknown; `guest-share-5` needs it, and
    /// so do busy percentages from `cpuUsage` (the CPUs its µs are spread over).
    public var vcpus: Int
    /// Busy time in µs (cgroup v2 root `cpu.stat`), when read; sets with `busySource` cgroup use it.
    public var cpuUsage: CPUUsage?

    public init(monotonicNs: UInt64, stat: ProcStatSnapshot, pageFaults: UInt64? = nil, vcpus: Int = 0, cpuUsage: CPUUsage? = nil) {
        self.monotonicNs = monotonicNs; self.stat = stat; self.pageFaults = pageFaults; self.vcpus = vcpus; self.cpuUsage = cpuUsage
    }
}

/// Turns consecutive raw samples into feature rows, one row per new sample from the second on
/// (every feature is a difference over the interval since the previous sample).
///
/// This is the only feature code: training (`FeatureSeries.init(trace:featureSet:)`) runs a trace
/// through it sample by sample, and the guest daemon feeds it live readings, so both agree exactly.
///
/// Edge cases (chosen so that a live guest never emits NaN):
/// - an interval with no cpu ticks at all (16 ms sampling at USER_HZ 100 on a small VM) repeats the
///   previous row's percentages (0 before any), since "no tick" is not "0 % busy";
/// - a non-positive Δt repeats the previous row's rates;
/// - a counter that went backwards (reboot, restore) counts as a zero delta.
public struct FeatureExtractor: Sendable {
    public let featureSet: FeatureSet
    /// T, the host's threads, for `vcpu_share` (guest-share-5 only).
    public let hostThreads: Int?
    private var previous: RawSample?
    private var lastRow: [Double]

    public init(featureSet: FeatureSet, hostThreads: Int? = nil) {
        self.featureSet = featureSet
        self.hostThreads = hostThreads
        self.lastRow = Array(repeating: 0, count: featureSet.count)
    }

    /// Number of features per row.
    public var featureCount: Int { featureSet.count }

    /// Forgets the previous sample (after a gap in the readings); the next push starts afresh.
    public mutating func reset() {
        previous = nil
        lastRow = Array(repeating: 0, count: featureSet.count)
    }

    /// Feeds one sample; returns the new feature row, or nil for the very first sample.
    public mutating func push(_ sample: RawSample) -> [Float]? {
        var row = [Float](repeating: 0, count: featureSet.count)
        let produced = row.withUnsafeMutableBufferPointer { push(sample, into: $0.baseAddress!, stride: 1) }
        return produced ? row : nil
    }

    /// Feeds one sample and writes its row to `out[0]`, `out[stride]`, … (`featureCount` values).
    /// Returns false (and writes nothing) for the first sample.
    @inline(__always)
    public mutating func push(_ sample: RawSample, into out: UnsafeMutablePointer<Float>, stride: Int) -> Bool {
        defer { previous = sample }
        guard let prev = previous else { return false }
        let dtNs = sample.monotonicNs > prev.monotonicNs ? sample.monotonicNs - prev.monotonicNs : 0
        let dt = Double(dtNs) / 1e9
        @inline(__always) func delta(_ a: UInt64, _ b: UInt64) -> Double { b >= a ? Double(b - a) : 0 }
        @inline(__always) func logRate(_ d: Double, _ slot: Int) -> Double {
            dt > 0 ? log1p(d / dt) : lastRow[slot]
        }
        let p = prev.stat, c = sample.stat
        switch featureSet.kind {
        case .decodeRapl4, .guestShare5:
            let du = delta(p.cpu.user, c.cpu.user), ds = delta(p.cpu.system, c.cpu.system)
            let di = delta(p.cpu.idle, c.cpu.idle), dw = delta(p.cpu.iowait, c.cpu.iowait)
            let total = du + ds + di + dw
            if total > 0 {
                lastRow[0] = du / total * 100
                lastRow[1] = ds / total * 100
                lastRow[2] = dw / total * 100
            }
            if featureSet.busySource == .cgroupCPUStat, let a = prev.cpuUsage, let b = sample.cpuUsage, dt > 0, sample.vcpus > 0 {
                // µs of busy time over the interval's capacity of k CPUs.
                let capacityUsec = dt * 1e6 * Double(sample.vcpus)
                lastRow[0] = min(100, delta(a.userUsec, b.userUsec) / capacityUsec * 100)
                lastRow[1] = min(100, delta(a.systemUsec, b.systemUsec) / capacityUsec * 100)
            }
            lastRow[3] = logRate(delta(p.contextSwitches, c.contextSwitches), 3)
            if featureSet.kind == .guestShare5, let t = hostThreads, t > 0 { lastRow[4] = Double(sample.vcpus) / Double(t) }
        case .extended:
            var d = [Double](repeating: 0, count: 10)
            for i in 0..<10 { d[i] = delta(p.cpu[i], c.cpu[i]) }
            let total = d[0..<8].reduce(0, +)
            if total > 0 { for i in 0..<10 { lastRow[i] = d[i] / total * 100 } }
            lastRow[10] = logRate(delta(p.contextSwitches, c.contextSwitches), 10)
            lastRow[11] = logRate(delta(p.interrupts, c.interrupts), 11)
            lastRow[12] = logRate(delta(p.processesCreated, c.processesCreated), 12)
            lastRow[13] = Double(c.procsRunning)
            lastRow[14] = Double(c.procsBlocked)
            if let a = prev.pageFaults, let b = sample.pageFaults {
                lastRow[15] = logRate(delta(a, b), 15)
            }
        }
        for i in 0..<lastRow.count { out[i * stride] = Float(lastRow[i]) }
        return true
    }
}
