#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Real-time scheduling for the sampling thread. On a busy host (a stress-ng campaign keeps every
/// core at 100 %), a normal-priority collector waits behind the load for its CPU and its intervals
/// stretch by whole scheduler slices; with SCHED_FIFO it runs as soon as its timer fires. The
/// collector needs well under 1 % of a core, and the kernel's RT throttling still bounds it.
public enum Scheduling {
    /// What the process ended up with, for the summary.
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        case realtime(priority: Int32)
        case normal(reason: String)
        public var description: String {
            switch self {
            case .realtime(let p): return "SCHED_FIFO priority \(p)"
            case .normal(let reason): return "normal (\(reason))"
            }
        }
    }

    /// Asks for SCHED_FIFO at `priority` (needs root or CAP_SYS_NICE; falls back quietly). Real-time
    /// tasks also get no timer slack, so the absolute-deadline sleep wakes on time.
    public static func requestRealtime(priority: Int32 = 10) -> Outcome {
        #if os(Linux)
        var param = sched_param()
        param.sched_priority = priority
        if sched_setscheduler(0, SCHED_FIFO, &param) == 0 { return .realtime(priority: priority) }
        return .normal(reason: "SCHED_FIFO refused: \(String(cString: strerror(errno))); run as root for steadier intervals")
        #else
        return .normal(reason: "real-time scheduling is only requested on Linux")
        #endif
    }
}
