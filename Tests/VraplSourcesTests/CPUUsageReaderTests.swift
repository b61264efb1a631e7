import Foundation
import Testing
import VraplCore
@testable import VraplSources

@Suite("cgroup v2 root cpu.stat (µs busy time)")
struct CPUUsageReaderTests {
    static let cgroupfs = Fixtures.root.appendingPathComponent("cgroupfs").path

    @Test("reads user_usec and system_usec of the fixture roots")
    func fixtureRoots() throws {
        let t0 = try CPUUsageReader(cgroupfs: Self.cgroupfs + "/t0/").read()
        let t1 = try CPUUsageReader(cgroupfs: Self.cgroupfs + "/t1").read()
        #expect(t0 == CPUUsage(userUsec: 3_000_000, systemUsec: 2_000_000))
        #expect(t1 == CPUUsage(userUsec: 3_800_000, systemUsec: 2_450_000))
    }

    @Test("a cpu.stat without user_usec, or none at all, is a one-line error naming the file")
    func broken() {
        let missing = Fixtures.message { _ = try CPUUsageReader(cgroupfs: Self.cgroupfs + "/broken") }
        #expect(missing?.contains("broken/cpu.stat: no 'user_usec', 'system_usec' counter") == true, "\(missing ?? "no error")")
        let absent = Fixtures.message { _ = try CPUUsageReader(cgroupfs: Self.cgroupfs + "/nvidia") }
        #expect(absent?.contains("nvidia/cpu.stat") == true, "\(absent ?? "no error")")
    }

    @Test(.enabled(if: CGroupMount.unifiedRoot().map { FileManager.default.isReadableFile(atPath: $0 + "/cpu.stat") } ?? false,
                   "this host has no readable cgroup v2 root cpu.stat"))
    func liveRootAdvances() throws {
        let reader = try CPUUsageReader(cgroupfs: try #require(CGroupMount.unifiedRoot()))
        let a = try reader.read()
        var x = 0.0
        for i in 0..<3_000_000 { x += Double(i).squareRoot() }  // ~10 ms of CPU
        #expect(x > 0)
        usleep(20_000)
        let b = try reader.read()
        #expect(b.userUsec + b.systemUsec > a.userUsec + a.systemUsec)
    }
}
