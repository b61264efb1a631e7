#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The project's clocks: CLOCK_MONOTONIC for deadlines, intervals and rates, CLOCK_REALTIME for the
/// wall-clock column. Nanoseconds, or seconds where a rate or an elapsed time wants them.
public enum SampleClock {
    @inline(__always)
    public static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// CLOCK_MONOTONIC in seconds.
    @inline(__always)
    public static func monotonicSeconds() -> Double {
        Double(monotonicNs()) / 1e9
    }

    @inline(__always)
    public static func wallNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    /// Sleeps until the monotonic clock reads `deadlineNs` (absolute, so errors never accumulate).
    /// Returns false only when a signal interrupted the sleep (the caller checks its stop flag and calls again).
    @inline(__always)
    @discardableResult
    public static func sleep(untilMonotonicNs deadlineNs: UInt64) -> Bool {
        var ts = timespec(tv_sec: Int(deadlineNs / 1_000_000_000), tv_nsec: Int(deadlineNs % 1_000_000_000))
        #if canImport(Glibc)
        return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) != EINTR
        #else
        let now = monotonicNs()
        if deadlineNs > now {
            var rel = timespec(tv_sec: Int((deadlineNs - now) / 1_000_000_000), tv_nsec: Int((deadlineNs - now) % 1_000_000_000))
            return nanosleep(&rel, nil) == 0
        }
        _ = ts
        return true
        #endif
    }
}
