/// Busy CPU time of a whole machine (a guest: all its vCPUs) in microseconds, cumulative, as the
/// cgroup v2 root `cpu.stat` reports it: `user_usec` (user + nice) and `system_usec` (system + irq +
/// softirq). Finer than /proc/stat's USER_HZ ticks (10 ms): the kernel accounts it at its own tick
/// (CONFIG_HZ, 4 ms at 250 Hz) or exactly with precise accounting (docs/PERFORMANCE.md "Busy-time
/// sources at 16 ms").
public struct CPUUsage: Sendable, Equatable {
    public var userUsec: UInt64
    public var systemUsec: UInt64
    public init(userUsec: UInt64, systemUsec: UInt64) { self.userUsec = userUsec; self.systemUsec = systemUsec }
}

/// Where a model's busy-CPU features (user %, system %) come from. A model records it
/// (`busy_source` metadata); the guest reads the same source, falling back to /proc/stat.
public enum BusyTimeSource: String, Codable, Sendable, CaseIterable {
    /// /proc/stat tick counters (USER_HZ): every trace and every guest has them. The default.
    case procStat = "proc-stat"
    /// The cgroup v2 root `cpu.stat` (µs): `/cpu_usage` in a trace, `<cgroupfs>/cpu.stat` live.
    case cgroupCPUStat = "cgroup-cpu-stat"

    /// Parses `proc-stat` or `cgroup-cpu-stat`.
    public init(parsing text: String) throws {
        guard let s = BusyTimeSource(rawValue: text) else {
            throw VraplError("unknown busy-time source '\(text)' (known: \(BusyTimeSource.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = s
    }
}
