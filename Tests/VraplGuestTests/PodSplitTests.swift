import Foundation
import Testing
@testable import VraplSources
import VraplTestSupport
import VraplAttribution
import VraplCore
@testable import VraplGuest

/// Kubernetes containers and pods from cgroup v2 fixture trees of each kubelet driver, built here.
@Suite("Kubernetes pods on a VM node (kepler_container_cpu_*, kepler_pod_cpu_*)", .serialized)
struct PodSplitTests {
    static let uidA = "0b6a4d3e-1111-4c2a-9d5e-aaaaaaaaaaaa", uidB = "7f3c2b1a-2222-4d4e-8f6a-bbbbbbbbbbbb"
    static let uidC = "c0ffee00-3333-4a4a-8b8b-cccccccccccc"
    static func cid(_ c: Character) -> String { String(repeating: c, count: 64) }

    /// Writes `usage_usec` of a cgroup directory (created with its parents).
    static func cgroup(_ root: URL, _ path: String, usage: UInt64) throws {
        let d = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        try "usage_usec \(usage)\nuser_usec \(usage / 2)\nsystem_usec \(usage / 2)\n".write(to: d.appendingPathComponent("cpu.stat"), atomically: true, encoding: .utf8)
    }

    static func systemdTree(_ root: URL, a: UInt64, b: UInt64, c: UInt64?, system: UInt64) throws {
        let podA = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uidA.replacingOccurrences(of: "-", with: "_")).slice"
        let podB = "kubepods.slice/kubepods-pod\(uidB.replacingOccurrences(of: "-", with: "_")).slice"  // guaranteed QoS
        try cgroup(root, podA + "/cri-containerd-\(cid("a")).scope", usage: a)
        try cgroup(root, podA + "/crio-conmon-\(cid("e")).scope", usage: 999_999)  // not a container
        try cgroup(root, podB + "/crio-\(cid("b")).scope", usage: b)
        if let c {
            let podC = "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(uidC.replacingOccurrences(of: "-", with: "_")).slice"
            try cgroup(root, podC + "/docker-\(cid("c")).scope", usage: c)
        } else {
            try? FileManager.default.removeItem(at: root.appendingPathComponent("kubepods.slice/kubepods-besteffort.slice"))
        }
        try cgroup(root, "system.slice/containerd.service", usage: 0)
        try "usage_usec \(a + b + (c ?? 0) + system)\n".write(to: root.appendingPathComponent("cpu.stat"), atomically: true, encoding: .utf8)
    }

    @Test("both drivers' path names: runtimes, pod UIDs; unexpected names are not containers")
    func discovery() throws {
        let dir = try Scratch.directory()
        let systemd = dir.appendingPathComponent("systemd"), cgroupfs = dir.appendingPathComponent("cgroupfs")
        try Self.systemdTree(systemd, a: 1, b: 2, c: 3, system: 0)
        try Self.cgroup(cgroupfs, "kubepods/burstable/pod\(Self.uidA)/\(Self.cid("d"))", usage: 5)
        try Self.cgroup(cgroupfs, "kubepods/pod\(Self.uidB)/\(Self.cid("f"))", usage: 6)
        try Self.cgroup(cgroupfs, "kubepods/burstable/pod\(Self.uidA)/not-a-container", usage: 7)
        try Self.cgroup(cgroupfs, "kubepods/burstable/podXYZ/\(Self.cid("0"))", usage: 8)  // not a pod UID
        let s = KubePods.discover(reader: CGroupReader(root: systemd.path))
        #expect(s.map(\.runtime).sorted() == ["cri-containerd", "crio", "docker"])
        #expect(Set(s.map(\.podUID)) == [Self.uidA, Self.uidB, Self.uidC])
        let c = KubePods.discover(reader: CGroupReader(root: cgroupfs.path))
        #expect(c.map(\.containerID) == [Self.cid("d"), Self.cid("f")] && c.map(\.podUID) == [Self.uidA, Self.uidB])
    }

    @Test("shares by container CPU time of the node's; pods sum their containers; a pod appearing or vanishing mid-run leaves its unmeasured interval unattributed; conservation holds")
    func split() throws {
        let dir = try Scratch.directory()
        let root = dir.appendingPathComponent("cg"), logs = dir.appendingPathComponent("pods")
        try FileManager.default.createDirectory(at: logs.appendingPathComponent("shop_web-7d9_\(Self.uidA)"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: logs.appendingPathComponent("not-a-pod-dir"), withIntermediateDirectories: true)
        try Self.systemdTree(root, a: 0, b: 0, c: nil, system: 0)
        let split = try PodSplit(cgroupfs: root.path, podLogs: logs.path)
        split.update(activeJoules: 0, monotonicNs: 1_000_000_000)
        // 1 s, 10 J: a used 0.5 s of CPU, b 0.3 s, the system 0.2 s.
        try Self.systemdTree(root, a: 500_000, b: 300_000, c: nil, system: 200_000)
        split.update(activeJoules: 10, monotonicNs: 2_000_000_000)
        let a = try #require(split.containers.first { $0.containerID == Self.cid("a") })
        #expect(abs(a.joules - 5) < 1e-9 && abs(a.watts - 5) < 1e-9 && a.podName == "web-7d9" && a.podNamespace == "shop")
        #expect(abs(split.unattributedJoules - 2) < 1e-9)
        // Pod C appears (its first interval is unmeasured), then vanishes.
        try Self.systemdTree(root, a: 600_000, b: 400_000, c: 100_000, system: 300_000)
        split.update(activeJoules: 20, monotonicNs: 3_000_000_000)
        #expect(split.pods.count == 3 && split.pods.first { $0.podUID == Self.uidC }?.joules == 0)
        try Self.systemdTree(root, a: 700_000, b: 500_000, c: nil, system: 400_000)
        split.update(activeJoules: 30, monotonicNs: 4_000_000_000)
        #expect(split.pods.count == 2)
        let live = split.containers.reduce(0) { $0 + $1.joules }
        // Σ live containers + unattributed = all the active energy (no container of C ever measured anything).
        #expect(abs(live + split.unattributedJoules - 30) < 1e-9)
        #expect(split.pods.map(\.joules).reduce(0, +) == live)
        #expect(throws: VraplError.self) { _ = try PodSplit(cgroupfs: dir.appendingPathComponent("nope").path) }
    }
}
