#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
/// Raw, cumulative readings of the guest-visible OS signals, exactly as the kernel reports them.
/// These value types are the contract between the sources (parsers), the trace store, the simulator
/// and the dataset pipeline: counters stay raw, every derived feature is computed later.

/// The ten fields of the aggregate `cpu` line of /proc/stat, in kernel order, in USER_HZ ticks
/// (jiffies, normally 1/100 s). Older kernels print fewer fields: the missing ones are zero.
public struct CPUTimes: Hashable, Sendable {
    public var user: UInt64 = 0
    public var nice: UInt64 = 0
    public var system: UInt64 = 0
    public var idle: UInt64 = 0
    public var iowait: UInt64 = 0
    public var irq: UInt64 = 0
    public var softirq: UInt64 = 0
    public var steal: UInt64 = 0
    public var guest: UInt64 = 0
    public var guestNice: UInt64 = 0

    public init() {}

    /// Field names in kernel order, as they are stored in traces (`cpu_<name>`).
    public static let fieldNames = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice"]

    /// The fields in kernel order.
    public var fields: [UInt64] {
        get { [user, nice, system, idle, iowait, irq, softirq, steal, guest, guestNice] }
        set {
            var v = newValue + Array(repeating: 0, count: max(0, 10 - newValue.count))
            user = v[0]; nice = v[1]; system = v[2]; idle = v[3]; iowait = v[4]
            irq = v[5]; softirq = v[6]; steal = v[7]; guest = v[8]; guestNice = v[9]
            v.removeAll()
        }
    }

    /// Field by kernel index 0…9.
    public subscript(index: Int) -> UInt64 {
        switch index {
        case 0: return user
        case 1: return nice
        case 2: return system
        case 3: return idle
        case 4: return iowait
        case 5: return irq
        case 6: return softirq
        case 7: return steal
        case 8: return guest
        default: return guestNice
        }
    }
}

extension CPUTimes {
    /// The one definition of busy CPU time: ticks between `earlier` and this reading of user, nice,
    /// system, irq, softirq and steal (guest and guest_nice are already inside user and nice), each
    /// field's delta clamped at 0 (the kernel's iowait and, after a restore, others can step back).
    @inline(__always)
    public func busyTicks(since earlier: CPUTimes) -> Double {
        @inline(__always) func d(_ a: UInt64, _ b: UInt64) -> Double { b >= a ? Double(b - a) : 0 }
        return d(earlier.user, user) + d(earlier.nice, nice) + d(earlier.system, system) + d(earlier.irq, irq)
            + d(earlier.softirq, softirq) + d(earlier.steal, steal)
    }

    /// Idle CPU time between `earlier` and this reading: Δ(idle + iowait), clamped per field.
    @inline(__always)
    public func idleTicks(since earlier: CPUTimes) -> Double {
        @inline(__always) func d(_ a: UInt64, _ b: UInt64) -> Double { b >= a ? Double(b - a) : 0 }
        return d(earlier.idle, idle) + d(earlier.iowait, iowait)
    }
}

/// USER_HZ, the unit of /proc/stat's cpu fields (`sysconf(_SC_CLK_TCK)`, 100 when it says nothing).
public enum UserHz {
    public static let value: Double = {
        let hz = sysconf(Int32(_SC_CLK_TCK))
        return hz > 0 ? Double(hz) : 100
    }()
}

/// One reading of /proc/stat: the aggregate cpu line plus the scalar counters.
public struct ProcStatSnapshot: Hashable, Sendable {
    public var cpu = CPUTimes()
    /// Per-CPU lines (`cpu0`, `cpu1`, …), only when requested.
    public var perCPU: [CPUTimes] = []
    /// `ctxt`: context switches since boot.
    public var contextSwitches: UInt64 = 0
    /// First number of the `intr` line: interrupts since boot.
    public var interrupts: UInt64 = 0
    /// `processes`: forks since boot.
    public var processesCreated: UInt64 = 0
    /// `procs_running`: runnable tasks now (a gauge).
    public var procsRunning: UInt64 = 0
    /// `procs_blocked`: tasks blocked on I/O now (a gauge).
    public var procsBlocked: UInt64 = 0
    public init() {}
}

/// Default /proc/vmstat counters recorded in traces.
public enum VmstatDefaults {
    public static let counters = ["pgfault", "pgmajfault", "pswpin", "pswpout"]
}
