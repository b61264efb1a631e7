import VraplCore
import VraplSources

/// One container's or pod's part of the active power (`kepler_container_cpu_*`, `kepler_pod_cpu_*`).
public struct KubeEnergy: Sendable, Equatable {
    public var containerID: String?
    public var runtime: String
    public var podUID: String
    public var podName: String
    public var podNamespace: String
    public var watts: Double
    public var joules: Double
}

/// `--pods`: Kepler's split of the active power across the node's Kubernetes containers and pods
/// (the node is this VM). Once per export interval, each container cgroup (`KubePods.discover`) takes
/// its share of the interval's active energy by CPU time, Δusage_usec(container) / Δusage_usec(root
/// cgroup, all the node's tasks); the rest (system services, kernel threads, containers seen for the
/// first time this interval or gone since the last one) is unattributed, so Σ containers +
/// unattributed = the active energy. A pod is the sum of its containers; a pod or container that
/// vanishes takes its series with it, and its last, unmeasured interval stays unattributed.
public final class PodSplit {
    public let reader: CGroupReader
    public let podLogs: String
    private var previous: [String: (inode: UInt64, usage: UInt64)] = [:]
    private var previousRoot: UInt64?
    private var interval = ActiveEnergyInterval()
    private var containerJoules: [String: Double] = [:]
    private var podJoules: [String: Double] = [:]
    public private(set) var unattributedJoules = 0.0
    public private(set) var containers: [KubeEnergy] = []
    public private(set) var pods: [KubeEnergy] = []

    public init(cgroupfs: String, podLogs: String = "/var/log/pods") throws {
        guard TextFile.isDirectory(cgroupfs) else {
            throw VraplError("--pods: the cgroup v2 root \(cgroupfs) is not a directory (give --cgroupfs)")
        }
        reader = CGroupReader(root: cgroupfs)
        self.podLogs = podLogs
    }

    /// Splits the active energy accumulated since the last call (`activeJoules` is the running total).
    public func update(activeJoules total: Double, monotonicNs: UInt64) {
        let found = KubePods.discover(reader: reader)
        var usage: [String: (inode: UInt64, usage: UInt64)] = [:]
        for c in found { if let u = reader.usage(c.cgroup) { usage[c.cgroup] = (u.inode, u.usageUsec) } }
        let root = reader.usage("")?.usageUsec
        defer {
            previous = usage
            previousRoot = root
        }
        guard let (energy, seconds) = interval.advance(totalJoules: total, monotonicNs: monotonicNs) else { return }
        var deltas: [(KubePods.Container, Double)] = []
        for c in found {
            guard let now = usage[c.cgroup], let before = previous[c.cgroup], before.inode == now.inode, now.usage >= before.usage else { continue }
            deltas.append((c, Double(now.usage - before.usage)))
        }
        let sumContainers = deltas.reduce(0) { $0 + $1.1 }
        var node = sumContainers
        if let r = root, let p = previousRoot, r >= p { node = max(node, Double(r - p)) }
        let names = KubePods.pods(podLogs: podLogs)
        var attributed = 0.0
        var podWatts: [String: Double] = [:]
        var list: [KubeEnergy] = []
        let live = Set(found.map(\.cgroup)), livePods = Set(found.map(\.podUID))
        containerJoules = containerJoules.filter { live.contains($0.key) }
        podJoules = podJoules.filter { livePods.contains($0.key) }
        for (c, d) in deltas {
            let e = node > 0 ? energy * d / node : 0
            attributed += e
            containerJoules[c.cgroup, default: 0] += e
            podJoules[c.podUID, default: 0] += e
            podWatts[c.podUID, default: 0] += e / seconds
            let pod = names[c.podUID]
            list.append(KubeEnergy(containerID: c.containerID, runtime: c.runtime, podUID: c.podUID, podName: pod?.name ?? "",
                                   podNamespace: pod?.namespace ?? "", watts: e / seconds, joules: containerJoules[c.cgroup] ?? 0))
        }
        unattributedJoules += energy - attributed
        containers = list
        pods = Array(livePods).sorted().map { uid in
            let pod = names[uid]
            return KubeEnergy(containerID: nil, runtime: "", podUID: uid, podName: pod?.name ?? "", podNamespace: pod?.namespace ?? "",
                              watts: podWatts[uid] ?? 0, joules: podJoules[uid] ?? 0)
        }
    }
}
