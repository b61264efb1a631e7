import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplCampaign
import VraplSources
@testable import VraplSim

@Suite("Live simulator")
struct LiveSimulatorTests {
    @Test("the powercap tree is read by the real PowercapReader, in place, across updates")
    func treeThroughRealReader() throws {
        let dir = try Scratch.path()
        let tree = try PowercapTree(root: dir, maxEnergyRangeUj: 262_143_328_850, initialEnergyUj: 5)
        let reader = try PowercapReader(sysfs: dir)
        #expect(reader.zones.map(\.key) == ["intel-rapl:0"])
        #expect(reader.zones[0].name == "package-0")
        #expect(reader.zones[0].maxEnergyRange == Microjoules(262_143_328_850))
        #expect(try reader.read() == [Microjoules(5)])
        // The reader keeps its fd open: in-place updates must reach it.
        for v: UInt64 in [123, 262_143_328_850, 0, 42_000_000] {
            try tree.write(energyUj: v)
            #expect(try reader.read() == [Microjoules(v)])
        }
    }

    @Test("live model: idle near P_idle, full cpu load in the cpu range, energy wraps")
    func liveModel() throws {
        var p = try SimFixtures.profile()
        p.maxEnergyRangeUj = 1_000_000
        var m = LivePowerModel(profile: p, busyScale: 10, seed: 3, initialEnergyUj: 999_000)
        var idle = 0.0
        for _ in 0..<200 { idle += m.step(busyThreads: 0.011, dt: 0.016) }  // housekeeping ÷ busyScale
        idle /= 200
        #expect(abs(idle - p.idleWatts) < p.idleJitterWatts + 0.6, "idle \(idle)")
        m.setCurrent(CampaignCurrent(name: "cpu-2", family: "cpu", stressors: [.init(name: "cpu", workers: 2)]))
        for _ in 0..<30 { _ = m.step(busyThreads: 2, dt: 0.016) }
        var busy = 0.0
        for _ in 0..<300 { busy += m.step(busyThreads: 2, dt: 0.016) }
        busy /= 300
        #expect((p.published["cpu"] ?? 0...0).contains(busy), "cpu \(busy)")
        #expect(m.energyUj <= 1_000_000)
        m.setCurrent(CampaignCurrent(name: "syscall-2", family: "syscall", stressors: [.init(name: "syscall", workers: 2)]))
        for _ in 0..<30 { _ = m.step(busyThreads: 2, dt: 0.016) }
        var sys = 0.0
        for _ in 0..<300 { sys += m.step(busyThreads: 2, dt: 0.016) }
        #expect((p.published["syscall"] ?? 0...0).contains(sys / 300), "syscall \(sys / 300)")
    }

    @Test("live loop against a fixture procfs writes a growing counter")
    func liveLoop() throws {
        let dir = try Scratch.path()
        try FileManager.default.createDirectory(atPath: dir + "/proc", withIntermediateDirectories: true)
        try "cpu  100 0 50 1000 0 0 0 0 0 0\ncpu0 50 0 25 500 0 0 0 0 0 0\ncpu1 50 0 25 500 0 0 0 0 0 0\nintr 7 0\nctxt 5\nbtime 1\nprocesses 9\nprocs_running 1\nprocs_blocked 0\n"
            .write(toFile: dir + "/proc/stat", atomically: true, encoding: .utf8)
        let p = try SimFixtures.profile()
        let sim = try LiveSimulator(profile: p, powercapDir: dir + "/sys", procfs: dir + "/proc", interval: 0.01,
                                    stateFile: dir + "/none.json", seed: 1)
        let reader = try PowercapReader(sysfs: dir + "/sys")
        let before = try reader.read()[0].value
        try sim.run(duration: 0.3)
        let after = try reader.read()[0].value
        let joules = Double(after >= before ? after - before : after + p.maxEnergyRangeUj + 1 - before) / 1e6
        // ~0.3 s at ~P_idle (no busy jiffies change in the fixture).
        #expect(joules > 0.3 * 18 && joules < 0.45 * 35, "\(joules) J")
    }

    @Test("malformed /proc/stat is reported with the path (the one parser, VraplSources.ProcStatReader)",
          arguments: ["broken-missing", "broken-truncated", "broken-empty"])
    func badStat(_ fixture: String) throws {
        let procfs = SimFixtures.repoRoot.appendingPathComponent("Tests/Fixtures/procfs/\(fixture)").path
        let dir = try Scratch.directory()
        do {
            _ = try LiveSimulator(profile: try SimFixtures.profile(), powercapDir: dir.path, procfs: procfs)
            Issue.record("accepted \(fixture)")
        } catch let e as VraplError {
            #expect(e.message.contains(procfs + "/stat"), "\(e.message)")
        }
    }
}

@Suite("Profile energy source")
struct ProfileEnergySourceTests {
    @Test("as an EnergySource: sim:<profile>, counter follows busy CPUs and the label's mix")
    func energySource() throws {
        let p = try SimFixtures.profile()
        let src = ProfileEnergySource(profile: p, cpuCount: 2, seed: 4)
        #expect(src.powerSource == .simulated(profile: "xeon-silver-4210r"))
        #expect(src.zones.count == 1 && src.zones[0].isPackage)
        var e = [Microjoules(0)]
        var stat = ProcStatSnapshot()
        var t: UInt64 = 1_000_000_000
        func run(_ busyPerTick: UInt64, ticks: Int) throws -> Double {
            let e0 = e[0].value, t0 = t
            for _ in 0..<ticks {
                t += 16_000_000
                stat.cpu.user += busyPerTick
                stat.cpu.idle += 3 - min(3, busyPerTick)
                try src.sample(stat: stat, monotonicNs: t, into: &e)
            }
            return Double(e[0].value - e0) / 1e6 / (Double(t - t0) / 1e9)
        }
        _ = try run(0, ticks: 50)
        let idle = try run(0, ticks: 300)
        #expect(abs(idle - p.idleWatts) < p.idleJitterWatts + 0.7, "idle \(idle)")
        src.setCurrent(CampaignCurrent(name: "cpu-2", family: "cpu", stressors: [.init(name: "cpu", workers: 2)]))
        _ = try run(2, ticks: 50)  // 2 busy jiffies per 16 ms on 2 CPUs ≈ 1.25 CPUs ≈ 12.5 profile threads
        let busy = try run(2, ticks: 300)
        #expect(busy > idle + 25, "busy \(busy) vs idle \(idle)")
    }
}
