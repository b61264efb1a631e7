import ArgumentParser

/// The roots of the host trees every reader takes (`--procfs`, `--sysfs`, `--cgroupfs`), one option
/// group for every command that reads the host, so that the whole chain runs against fixture trees.
/// A command reads only the trees it needs (its help says which) and ignores the others.
public struct HostRoots: ParsableArguments, Sendable {
    @Option(name: .long, help: "Root of procfs: stat, vmstat, cpuinfo, <pid>/stat.")
    public var procfs: String = "/proc"

    @Option(name: .long, help: "Root of sysfs: class/powercap (RAPL), devices/system/cpu/online.")
    public var sysfs: String = "/sys"

    @Option(name: .long, help: "Root of the cgroup v2 hierarchy (default: this host's, from /proc/self/mounts).")
    public var cgroupfs: String?

    public init() {}
}
