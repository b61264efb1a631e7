#if canImport(Glibc)
import Glibc
#endif
import Foundation
import VraplCore
import VraplSources

/// A cgroup v2 cpuset of the campaign's own: `<root>/<group>/guest` holds a placed combination's
/// stressors on its CPU set, `<root>/<group>/neighbours` the neighbour load on the other CPUs.
///
/// A cpuset confines every thread stress-ng forks, including those that call `sched_setaffinity`
/// themselves, and the kernel keeps it when CPUs go offline; `stress-ng --taskset` (affinity) is the
/// fallback where the v2 hierarchy offers no `cpuset` controller (hybrid hosts that bind it to v1)
/// or the campaign cannot create cgroups (not root).
public struct CPUSetCGroup: Sendable, Equatable {
    /// The two leaves of the campaign's group.
    public enum Leaf: String, Sendable, CaseIterable { case guest, neighbours }

    /// The cgroup v2 mount (`/sys/fs/cgroup`, or a fixture tree in tests).
    public let root: String
    /// The group's name under `root` (`vrapl-campaign-<pid>`).
    public let group: String

    public var directory: String { root + "/" + group }
    public func path(_ leaf: Leaf) -> String { directory + "/" + leaf.rawValue }

    /// Why `root` cannot hold a cpuset, nil when it can: it must be a cgroup v2 hierarchy
    /// (`cgroup.controllers`) listing `cpuset`.
    public static func unavailableReason(root: String) -> String? {
        let controllersFile = root + "/cgroup.controllers"
        guard let text = try? TextFile.read(controllersFile) else {
            return "\(root) is not a cgroup v2 hierarchy (no readable cgroup.controllers)"
        }
        let controllers = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        guard controllers.contains("cpuset") else {
            return "the cgroup v2 hierarchy at \(root) offers no cpuset controller (cgroup.controllers: \(controllers.isEmpty ? "empty" : controllers.joined(separator: " "))); it is bound to cgroup v1 on this host"
        }
        return nil
    }

    /// Creates the group and its two leaves with the cpuset controller enabled down from `root`
    /// (`+cpuset` in `root/cgroup.subtree_control` and the group's). A group of that name that
    /// already exists is refused (it is someone else's, or a previous campaign's that still runs).
    public static func create(root: String, group: String) throws -> CPUSetCGroup {
        let g = CPUSetCGroup(root: root, group: group)
        if let reason = unavailableReason(root: root) { throw VraplError("cannot confine stressors in a cpuset: \(reason)") }
        try enable(controllerIn: root)
        guard mkdir(g.directory, 0o755) == 0 else {
            throw VraplError("cannot create the campaign's cgroup \(g.directory): \(errno == EEXIST ? "it already exists (another campaign, or a stale one: rmdir it)" : TextFile.systemReason())")
        }
        do {
            try enable(controllerIn: g.directory)
            for leaf in Leaf.allCases {
                guard mkdir(g.path(leaf), 0o755) == 0 else { throw VraplError("cannot create the cgroup \(g.path(leaf)): \(TextFile.systemReason())") }
            }
        } catch {
            g.remove()
            throw error
        }
        return g
    }

    /// Writes `+cpuset` to `dir/cgroup.subtree_control` unless it is already enabled there.
    static func enable(controllerIn dir: String) throws {
        let file = dir + "/cgroup.subtree_control"
        let current = (try? TextFile.read(file)) ?? ""
        if current.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("cpuset") { return }
        do { try TextFile.writeStream("+cpuset", to: file) } catch {
            throw VraplError("cannot enable the cpuset controller: \(error)")
        }
    }

    /// Confines `leaf` to `cpus` (`cpuset.cpus`, a cpulist such as `0-1,4`).
    public func assign(_ leaf: Leaf, cpus: [Int]) throws {
        let file = path(leaf) + "/cpuset.cpus"
        do { try TextFile.writeStream(CPUList.format(cpus), to: file) } catch {
            throw VraplError("cannot confine \(leaf.rawValue) stressors to CPUs \(CPUList.format(cpus)): \(error)")
        }
    }

    /// `executable arguments` run inside `leaf`: a shell that moves itself into the leaf
    /// (`cgroup.procs`) and then `exec`s the command, so the command and everything it forks start
    /// confined (moving a pid after it started would miss the children it forked first).
    public func wrap(_ executable: String, _ arguments: [String], in leaf: Leaf) -> (executable: String, arguments: [String]) {
        // `sh -c SCRIPT PROCS EXE ARGS…`: $0 is the leaf's cgroup.procs, "$@" the command.
        let script = "echo $$ > \"$0\" || exit 125; exec \"$@\""
        return ("/bin/sh", ["-c", script, path(leaf) + "/cgroup.procs", executable] + arguments)
    }

    /// Removes the leaves and the group (they must be empty: stress-ng has exited). Best effort.
    public func remove() {
        for leaf in Leaf.allCases { _ = rmdir(path(leaf)) }
        _ = rmdir(directory)
    }
}

/// How a campaign holds placed stressors on their CPU set.
public enum Confinement: Sendable, Equatable {
    /// A cgroup v2 cpuset of the campaign's own.
    case cpuset(CPUSetCGroup)
    /// `stress-ng --taskset` (`sched_setaffinity`), with the reason the cpuset was not used.
    case affinity(reason: String)

    /// `cpuset:<group path>` or `affinity`: the value of the segment label `confinement`.
    public var label: String {
        switch self {
        case .cpuset(let g): return "cpuset:" + g.directory
        case .affinity: return "affinity"
        }
    }
}

/// The user's choice for `vrapl campaign --confine`.
public enum ConfinementChoice: String, Sendable, CaseIterable {
    /// cgroup v2 cpuset where the host offers one, else affinity (said in the log).
    case auto
    /// cgroup v2 cpuset or an error.
    case cpuset
    /// `stress-ng --taskset` only.
    case affinity
}
