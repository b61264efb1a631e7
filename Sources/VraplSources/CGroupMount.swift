import VraplCore

/// Where this host mounts its cgroup v2 hierarchy (POSIX reads only: the recording chain links no
/// Foundation).
public enum CGroupMount {
    /// The cgroup v2 mount of this host: `/sys/fs/cgroup` on unified hosts, `/sys/fs/cgroup/unified`
    /// on hybrid ones (v1 controllers plus a v2 tree), nil when there is none. `mounts` is
    /// `/proc/self/mounts` or a fixture.
    public static func unifiedRoot(mounts: String = "/proc/self/mounts") -> String? {
        if let text = try? TextFile.read(mounts) {
            for line in text.split(separator: "\n") {
                let f = line.split(separator: " ")
                if f.count >= 3, f[2] == "cgroup2" { return String(f[1]) }
            }
        }
        for candidate in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] where TextFile.exists(candidate + "/cgroup.controllers") {
            return candidate
        }
        return nil
    }
}
