import VraplCore

/// Reads the machine's busy CPU time from the cgroup v2 root `cpu.stat` (`user_usec`,
/// `system_usec`): `<cgroupfs>/cpu.stat`, where `cgroupfs` is the v2 mount (`CGroupMount`) or a
/// fixture tree. The file stays open; `read()` is one `pread` and a parse that allocates nothing.
public final class CPUUsageReader {
    /// `<cgroupfs>/cpu.stat`.
    public var path: String { file.path }
    private let file: KeyedCounterReader
    private var values = [UInt64](repeating: 0, count: 2)

    /// Opens `<cgroupfs>/cpu.stat`; throws naming the file when it is missing, unreadable, or lacks
    /// `user_usec` / `system_usec` (kernels before 4.15 have no root cpu.stat).
    public init(cgroupfs: String) throws {
        let root = cgroupfs.count > 1 && cgroupfs.hasSuffix("/") ? String(cgroupfs.dropLast()) : cgroupfs
        file = try KeyedCounterReader(path: root + "/cpu.stat", counters: ["user_usec", "system_usec"])
    }

    /// The root `cpu.stat` of `cgroupfs`, or of this host's cgroup v2 mount when nil; throws one line
    /// saying why there is none (no v2 hierarchy, no readable `cpu.stat`) for the caller to report.
    public static func ofHost(cgroupfs: String?) throws -> CPUUsageReader {
        guard let root = cgroupfs ?? CGroupMount.unifiedRoot() else {
            throw VraplError("no cgroup v2 hierarchy is mounted (give --cgroupfs ROOT)")
        }
        return try CPUUsageReader(cgroupfs: root)
    }

    /// The current busy time.
    public func read() throws -> CPUUsage {
        try file.read(into: &values)
        return CPUUsage(userUsec: values[0], systemUsec: values[1])
    }
}
