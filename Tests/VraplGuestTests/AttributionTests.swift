import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplGuest

@Suite("Guest attribution (--attribute)", .serialized)
struct GuestAttributionTests {
    @Test("predicted CPU energy is split across cgroups by CPU usage share")
    func split() throws {
        let dir = try Scratch.directory()
        let root = dir.appendingPathComponent("cgroup")
        for slice in ["a.slice", "b.slice"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(slice), withIntermediateDirectories: true)
        }
        func setUsage(_ a: Int, _ b: Int) throws {
            try "usage_usec \(a)\nuser_usec \(a)\nsystem_usec 0\n".write(to: root.appendingPathComponent("a.slice/cpu.stat"), atomically: true, encoding: .utf8)
            try "usage_usec \(b)\nuser_usec \(b)\nsystem_usec 0\n".write(to: root.appendingPathComponent("b.slice/cpu.stat"), atomically: true, encoding: .utf8)
        }
        try setUsage(0, 0)
        let config = dir.appendingPathComponent("attr.yaml")
        try """
        name: guest-test
        workloads:
          - name: a
            cgroups: [a.slice]
          - name: b
            cgroups: [b.slice]
        memory:
          watts_per_gb: 0
          total_gb: 1
        storage:
          joules_per_byte: 0
        policy:
          cpu_share: workloads
        interval_s: 0.1
        """.write(to: config, atomically: true, encoding: .utf8)
        var energy = 100.0
        let attribution = try GuestAttribution(configPath: config.path, procfs: "/proc", cgroupfs: root.path, modelName: "m") { energy }
        Thread.sleep(forTimeInterval: 0.12)
        try setUsage(300_000, 100_000)
        energy = 140
        try attribution.update()
        #expect(attribution.live.intervals.count == 1)
        let totals = Dictionary(uniqueKeysWithValues: attribution.totals.map { ($0.workload, $0.joules) })
        #expect(abs((totals["a"] ?? 0) - 30) < 1e-6, "\(totals)")
        #expect(abs((totals["b"] ?? 0) - 10) < 1e-6, "\(totals)")
        #expect(attribution.live.cpu.powerSource == .model(name: "m"))
    }

    @Test("a missing attribution config is a one-line error naming it")
    func missingConfig() {
        let message = errorMessage { _ = try GuestAttribution(configPath: "/nonexistent/a.yaml", procfs: "/proc", cgroupfs: "/tmp", modelName: "m") { 0 } }
        #expect(message?.hasPrefix("--attribute /nonexistent/a.yaml: ") == true, "\(message ?? "")")
    }
}
