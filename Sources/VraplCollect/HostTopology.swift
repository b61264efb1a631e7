import Glibc
import VraplCore
import VraplTrace

/// Reads the host's CPU topology from sysfs (`<sysfs>/devices/system/cpu`): the online set
/// (`online`, a cpulist such as `0-3,8-11`), and per online CPU its core and package ids and SMT
/// siblings (`cpuN/topology/{core_id,physical_package_id,thread_siblings_list}`). Files that are
/// missing (containers, fixture trees) leave the field out; a missing `online` gives nil.
public enum HostTopology {
    public static func read(sysfs: String) -> CPUTopology? {
        let base = sysfs + "/devices/system/cpu"
        guard let text = try? TextFile.read(base + "/online"), let online = parseCPUList(text), !online.isEmpty else { return nil }
        var cores = Set<String>(), sockets = Set<String>()
        var siblings: [[Int]] = []
        var seen = Set<Int>()
        var complete = true
        for cpu in online {
            let dir = base + "/cpu\(cpu)/topology"
            guard let core = try? TextFile.read(dir + "/core_id"), let package = try? TextFile.read(dir + "/physical_package_id") else {
                complete = false
                continue
            }
            let p = package.trimmingWhitespace(), c = core.trimmingWhitespace()
            cores.insert(p + ":" + c)
            sockets.insert(p)
            if let list = try? TextFile.read(dir + "/thread_siblings_list"), let group = parseCPUList(list), !group.isEmpty,
               !seen.contains(group[0]) {
                siblings.append(group)
                for g in group { seen.insert(g) }
            }
        }
        return CPUTopology(logicalCPUs: online.count, cores: complete ? cores.count : nil, sockets: complete ? sockets.count : nil,
                           online: online, siblings: siblings.sorted { $0[0] < $1[0] })
    }

    /// Parses a kernel cpulist (`CPUList.parse`).
    public static func parseCPUList(_ text: String) -> [Int]? { CPUList.parse(text) }
}
