import Foundation
import VraplSources
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplAttribution

@Suite("cgroup v2 readers")
struct CGroupReaderTests {
    let t0 = CGroupReader(root: Fixtures.path("cgroupfs/t0"))
    let broken = CGroupReader(root: Fixtures.path("cgroupfs/broken"))

    @Test func readsEveryFileOfACompleteCGroup() throws {
        let s = try t0.sample("yolo.slice")
        #expect(s.path == "yolo.slice")
        #expect(s.usageUsec == 1_000_000)
        #expect(s.memoryMax == .bytes(4_294_967_296))
        #expect(s.memoryCurrent == 3_000_000_000)
        // Two devices summed: rbytes 1000 + 500, wbytes 2000 + 0.
        #expect(s.io == CGroupIOStat(readBytes: 1500, writeBytes: 2000, readOps: 2, writeOps: 2))
        #expect(s.missingFiles.isEmpty)
    }

    @Test func maxLimitAndEmptyIOStat() throws {
        let s = try t0.sample("/nodejs.slice/")
        #expect(s.memoryMax == .max)
        #expect(s.memoryMax?.byteCount == nil)
        #expect(s.io == CGroupIOStat())
    }

    @Test func missingFilesAreNotedNotFatal() throws {
        let s = try t0.sample("reset.slice")
        #expect(s.usageUsec == 900_000)
        #expect(s.memoryMax == nil && s.memoryCurrent == nil && s.io == nil)
        #expect(s.missingFiles.count == 3)
        #expect(s.missingFiles.allSatisfy { $0.hasPrefix(Fixtures.path("cgroupfs/t0/reset.slice/")) })
        let onlyMemory = try broken.sample("onlymem.slice")
        #expect(onlyMemory.usageUsec == nil)
        #expect(onlyMemory.memoryCurrent == 12345)
    }

    @Test func vanishedCGroupIsItsOwnError() {
        #expect(throws: CGroupReadError.cgroupMissing(path: Fixtures.path("cgroupfs/t0/gone-for-good.slice"))) {
            try t0.sample("gone-for-good.slice")
        }
    }

    @Test(arguments: [
        ("garbage.slice", "cpu.stat", "'abc' is not a non-negative integer"),
        ("badmax.slice", "memory.max", "neither a byte count nor 'max'"),
        ("badio.slice", "io.stat", "'wbytes=oops' is not key=integer"),
        ("nofield.slice", "cpu.stat", "no usage_usec line"),
        ("binary.slice", "cpu.stat", "line 1 '???? garbage'"),
    ])
    func garbageIsAClearErrorNamingTheFile(cgroup: String, file: String, fragment: String) {
        do {
            _ = try broken.sample(cgroup)
            Issue.record("\(cgroup) should not parse")
        } catch let error as CGroupReadError {
            #expect(error.path == Fixtures.path("cgroupfs/broken/\(cgroup)/\(file)"))
            #expect(error.description.contains(fragment), "\(error.description)")
            #expect(error.description.contains(Fixtures.path("cgroupfs/broken/\(cgroup)")))
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }

    @Test func parsersAgainstKernelText() throws {
        #expect(try CGroupParse.limit("max\n", path: "x") == .max)
        #expect(try CGroupParse.limit(" 123 \n", path: "x") == .bytes(123))
        #expect(throws: CGroupReadError.self) { try CGroupParse.limit("-1", path: "x") }
        #expect(try CGroupParse.integer("0\n", path: "x") == 0)
        #expect(try CGroupParse.cpuUsageUsec("usage_usec 18446744073709551615\n", path: "x") == UInt64.max)
        #expect(try CGroupParse.ioStat("", path: "x") == CGroupIOStat())
        #expect(throws: CGroupReadError.self) { try CGroupParse.ioStat("rbytes=1", path: "x") }
        // Unknown keys (newer kernels) are ignored.
        #expect(try CGroupParse.ioStat("8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=9 dios=9 cost.usage=5\n", path: "x").totalBytes == 3)
        #expect(CGroupParse.unifiedCGroupPath(fromProcCGroup: "4:memory:/a\n0::/yolo.slice/x\n") == "/yolo.slice/x")
        #expect(CGroupParse.unifiedCGroupPath(fromProcCGroup: "4:memory:/a\n") == nil)
    }

    @Test func discoversChildrenByGlob() throws {
        #expect(try t0.children(of: "") == ["gone.slice", "nodejs.slice", "reset.slice", "yolo.slice"])
        #expect(try t0.children(of: "", matching: "*js.slice") == ["nodejs.slice"])
        #expect(throws: CGroupReadError.self) { try t0.children(of: "nope") }
    }

    @Test func detectsTheHostMountFromAMountsFile() throws {
        let dir = try Scratch.path("mounts")
        let hybrid = "tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
        try hybrid.write(toFile: dir + "/mounts", atomically: true, encoding: .utf8)
        #expect(CGroupMount.unifiedRoot(mounts: dir + "/mounts") == "/sys/fs/cgroup/unified")
    }
}

@Suite("usage between two readings")
struct UsageSamplerTests {
    /// t0 → t1 on the same directory tree: yolo +0.6 s, nodejs +0.3 s, gone.slice removed, new.slice
    /// created, reset.slice's counter restarted, root +1.25 s.
    func readings(_ config: AttributionConfig) throws -> (UsageSampler, UsageInterval) {
        let dir = try Fixtures.cgroupTree("usage")
        let sampler = UsageSampler(config: config, reader: CGroupReader(root: dir))
        let a = sampler.snapshot(time: 0)
        try Fixtures.sync(from: Fixtures.path("cgroupfs/t1"), to: dir)
        let b = sampler.snapshot(time: 1)
        return (sampler, sampler.interval(from: a, to: b))
    }

    @Test func declaredWorkloadsDeltasMemoryAndIO() throws {
        var c = AttributionConfig()
        c.workloads = [WorkloadSpec(name: "yolo", cgroups: ["yolo.slice"], gpus: [0]),
                       WorkloadSpec(name: "node", cgroups: ["nodejs.slice"], memoryGB: 2)]
        let (_, u) = try readings(c)
        let yolo = try #require(u.workloads.first { $0.name == "yolo" })
        #expect(yolo.complete && yolo.cpuUsageUsec == 600_000)
        #expect(yolo.memoryBytes == 4_294_967_296)
        #expect(yolo.ioBytes == Double((5000 + 4000 + 1500) - (1000 + 2000 + 500)))
        let node = try #require(u.workloads.first { $0.name == "node" })
        #expect(node.complete && node.cpuUsageUsec == 300_000)
        #expect(node.memoryBytes == 2 * bytesPerGB)  // override wins over memory.max = max
        #expect(u.unknownCPUUsageUsec == 0)
    }

    @Test func maxWithoutOverrideChargesCurrentAndSaysSo() throws {
        var c = AttributionConfig()
        c.workloads = [WorkloadSpec(name: "node", cgroups: ["nodejs.slice"])]
        let (_, u) = try readings(c)
        #expect(u.workloads[0].memoryBytes == 1_073_741_824)
        #expect(u.workloads[0].notes.contains { $0.contains("memory.max is max") })
    }

    @Test func discoveredVanishedAppearedAndResetAreIncompleteWithParentEstimate() throws {
        var c = AttributionConfig()
        c.discover = DiscoverSpec(parent: "", pattern: "*.slice")
        let (_, u) = try readings(c)
        let byName = Dictionary(uniqueKeysWithValues: u.workloads.map { ($0.name, $0) })
        #expect(Set(byName.keys) == ["gone", "new", "nodejs", "reset", "yolo"])
        #expect(byName["yolo"]?.complete == true && byName["nodejs"]?.complete == true)
        #expect(byName["gone"]?.complete == false && byName["gone"]?.notes.contains("vanished during the interval") == true)
        #expect(byName["new"]?.complete == false && byName["new"]?.notes.contains("appeared during the interval") == true)
        #expect(byName["reset"]?.complete == false && byName["reset"]?.notes.contains { $0.contains("went backwards") } == true)
        // Root +1.25 s minus the children readable at both ends (yolo 0.6 + nodejs 0.3).
        let unknown = try #require(u.unknownCPUUsageUsec)
        #expect(abs(unknown - 350_000) < 1e-6)
    }

    @Test func energyOfIncompleteWorkloadsGoesToUnattributedNeverLost() throws {
        var c = AttributionConfig()
        c.discover = DiscoverSpec(parent: "", pattern: "*.slice")
        let (_, u) = try readings(c)
        let r = Attributor(config: c).attribute(system: SystemInterval(start: 0, duration: Seconds(1), cpu: Joules(125)), usage: u,
                                                memoryTotalBytes: 8 * bytesPerGB)
        // Denominator: known 0.9 s + unknown 0.35 s = 1.25 s → yolo 60 J, nodejs 30 J, unattributed 35 J.
        #expect(abs(r.workloads.first { $0.name == "yolo" }!.energy.cpu.value - 60) < 1e-9)
        #expect(abs(r.workloads.first { $0.name == "nodejs" }!.energy.cpu.value - 30) < 1e-9)
        #expect(abs(r.unattributed.cpu.value - 35) < 1e-9)
        #expect(r.workloads.first { $0.name == "gone" }!.energy.total.value == 0)
        #expect(r.residualFraction < 1e-12)
    }

    @Test func recreatedCGroupIsACounterResetEvenWhenTheCounterGrew() throws {
        let dir = try Fixtures.cgroupTree("recreate")
        var c = AttributionConfig()
        c.workloads = [WorkloadSpec(name: "y", cgroups: ["yolo.slice"])]
        let sampler = UsageSampler(config: c, reader: CGroupReader(root: dir))
        let a = sampler.snapshot(time: 0)
        // Create the replacement before deleting the original so the inode cannot be reused.
        try FileManager.default.createDirectory(atPath: dir + "/yolo.slice.new", withIntermediateDirectories: false)
        try "usage_usec 5000000\n".write(toFile: dir + "/yolo.slice.new/cpu.stat", atomically: false, encoding: .utf8)
        try FileManager.default.moveItem(atPath: dir + "/yolo.slice", toPath: dir + "/yolo.slice.old")
        try FileManager.default.moveItem(atPath: dir + "/yolo.slice.new", toPath: dir + "/yolo.slice")
        let b = sampler.snapshot(time: 1)
        try FileManager.default.removeItem(atPath: dir + "/yolo.slice.old")
        let w = sampler.interval(from: a, to: b).workloads[0]
        #expect(!w.complete)
        #expect(w.notes.contains { $0.contains("recreated") })
    }
}
