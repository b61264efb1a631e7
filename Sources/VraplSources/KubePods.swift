import VraplCore

/// Kubernetes containers found in a cgroup v2 tree (a node that is a VM), by the path names the
/// kubelet's cgroup drivers give them:
///
/// - systemd driver: `kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<UID, _ for ->.slice/<runtime>-<ID>.scope`,
///   runtime `cri-containerd`, `crio` or `docker`;
/// - cgroupfs driver: `kubepods[/<qos>]/pod<UID>/<ID>`.
///
/// Pod UIDs map to namespace and name through `/var/log/pods/<namespace>_<name>_<uid>/` when that
/// directory is readable (`podLogs`); otherwise both are empty. A directory under a pod whose name
/// fits no pattern (a `crio-conmon-…` scope, a sandbox) is not a container and is skipped.
public enum KubePods {
    public struct Container: Sendable, Equatable, Hashable {
        /// The cgroup (relative to the root).
        public var cgroup: String
        public var containerID: String
        public var runtime: String
        public var podUID: String
    }

    public struct Pod: Sendable, Equatable {
        public var uid: String
        public var name: String
        public var namespace: String
    }

    /// Every container cgroup under the root's `kubepods.slice` or `kubepods`.
    public static func discover(reader: CGroupReader) -> [Container] {
        var out: [Container] = []
        func walk(_ cgroup: String, depth: Int, pod: String?) {
            guard depth < 5, let children = try? reader.children(of: cgroup) else { return }
            for child in children {
                let name = String(child.split(separator: "/").last ?? "")
                if let uid = podUID(name) {
                    walk(child, depth: depth + 1, pod: uid)
                } else if let pod, let (runtime, id) = container(name) {
                    out.append(Container(cgroup: child, containerID: id, runtime: runtime, podUID: pod))
                } else if pod == nil, name.hasPrefix("kubepods") || ["besteffort", "burstable", "guaranteed"].contains(name) {
                    walk(child, depth: depth + 1, pod: nil)
                }
            }
        }
        for top in ["kubepods.slice", "kubepods"] where reader.exists(top) { walk(top, depth: 0, pod: nil) }
        return out.sorted { $0.cgroup < $1.cgroup }
    }

    /// The pod UID of a pod cgroup's name (`kubepods-burstable-pod1234_abcd.slice`, `pod1234-abcd`).
    static func podUID(_ name: String) -> String? {
        guard let r = name.ranges(of: "pod").last else { return nil }
        var rest = String(name[r.upperBound...])
        if rest.hasSuffix(".slice") { rest.removeLast(6); rest.replace("_", with: "-") }
        // A UID: 36 characters of hex digits and dashes.
        guard rest.count == 36, rest.allSatisfy({ $0.isHexDigit || $0 == "-" }) else { return nil }
        return rest.lowercased()
    }

    /// (runtime, container ID) of a container cgroup's name, nil for anything else.
    static func container(_ name: String) -> (String, String)? {
        for runtime in ["cri-containerd", "crio", "docker"] where name.hasPrefix(runtime + "-") && name.hasSuffix(".scope") {
            let id = String(name.dropFirst(runtime.count + 1).dropLast(6))
            return isContainerID(id) ? (runtime, id) : nil
        }
        return isContainerID(name) ? ("", name) : nil  // cgroupfs driver: the bare ID
    }

    static func isContainerID(_ s: String) -> Bool { s.count == 64 && s.allSatisfy(\.isHexDigit) }

    /// Pods by UID from `<podLogs>/<namespace>_<name>_<uid>/` (empty when unreadable).
    public static func pods(podLogs: String) -> [String: Pod] {
        guard let names = try? TextFile.directoryEntries(podLogs) else { return [:] }
        var out: [String: Pod] = [:]
        for n in names {
            let parts = n.split(separator: "_")
            guard parts.count == 3, String(parts[2]).count == 36 else { continue }
            out[String(parts[2]).lowercased()] = Pod(uid: String(parts[2]).lowercased(), name: String(parts[1]), namespace: String(parts[0]))
        }
        return out
    }
}
