#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time and peak memory of this process (`getrusage(RUSAGE_SELF)`), for the figures that
/// commands print at the end of a run.
public struct ProcessCPUTime: Sendable {
    /// User-mode CPU time, s.
    public var user: Double
    /// Kernel-mode CPU time, s.
    public var system: Double
    /// Peak resident set size, MiB (`ru_maxrss` is KiB on Linux).
    public var maxResidentMiB: Double
    public var total: Double { user + system }

    /// This process so far; zeros where getrusage fails.
    public static func ofSelf() -> ProcessCPUTime {
        var usage = rusage()
        #if os(Linux)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return ProcessCPUTime(user: 0, system: 0, maxResidentMiB: 0) }
        return ProcessCPUTime(user: Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6,
                              system: Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6,
                              maxResidentMiB: Double(usage.ru_maxrss) / 1024)
    }

    /// CPU time of the calling thread, s (profiling that is not fooled by a busy machine).
    public static func threadSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
