import Foundation
import Testing
import VraplCore
@testable import VraplSources

@Suite struct SimulatedEnergySourceTests {
    static func stat(busy: UInt64, idle: UInt64) -> ProcStatSnapshot {
        var s = ProcStatSnapshot()
        s.cpu.user = busy
        s.cpu.idle = idle
        return s
    }

    @Test func busyShareFromDeltas() {
        var a = CPUTimes(), b = CPUTimes()
        a.user = 100; a.system = 50; a.idle = 1000; a.iowait = 10
        b.user = 130; b.system = 60; b.idle = 1050; b.iowait = 20; b.steal = 10
        // busy Δ = 30 + 10 + 10 (steal) = 50, idle Δ = 50 + 10 = 60
        #expect(SimulatedEnergySource.busyShare(from: a, to: b) == 50.0 / 110.0)
        #expect(SimulatedEnergySource.busyShare(from: a, to: a) == nil)
    }

    @Test func noiselessEnergyIsIdlePlusBusyTerm() throws {
        var p = SimulatedEnergySource.Parameters()
        p.noiseWatts = 0
        let sim = SimulatedEnergySource(cpuCount: 2, parameters: p)
        #expect(sim.zones.map(\.name) == ["package-0"])
        #expect(sim.powerSource.description == "sim:basic")
        var e = [Microjoules(0)]
        try sim.sample(stat: Self.stat(busy: 0, idle: 0), monotonicNs: 0, into: &e)
        #expect(e[0] == Microjoules(0))
        // Half of the CPUs busy for 1 s: 25 W + 30 W/CPU × 2 CPUs × 0.5 = 55 W → 55 J.
        try sim.sample(stat: Self.stat(busy: 100, idle: 100), monotonicNs: 1_000_000_000, into: &e)
        #expect(e[0] == Microjoules(55_000_000))
        // No jiffy elapsed: the share is held; 16 ms at 55 W = 880 000 µJ.
        try sim.sample(stat: Self.stat(busy: 100, idle: 100), monotonicNs: 1_016_000_000, into: &e)
        #expect(e[0] == Microjoules(55_880_000))
        // All idle for 0.5 s: 12.5 J.
        try sim.sample(stat: Self.stat(busy: 100, idle: 300), monotonicNs: 1_516_000_000, into: &e)
        #expect(e[0] == Microjoules(68_380_000))
    }

    @Test func counterWrapsAtItsRangeWithoutLosingEnergy() throws {
        var p = SimulatedEnergySource.Parameters()
        p.noiseWatts = 0
        p.maxEnergyRange = 30_000_000
        let sim = SimulatedEnergySource(cpuCount: 1, parameters: p, initialCounter: 29_000_000)
        var e = [Microjoules(0)], prev = Microjoules(0)
        try sim.sample(stat: Self.stat(busy: 0, idle: 0), monotonicNs: 0, into: &e)
        prev = e[0]
        try sim.sample(stat: Self.stat(busy: 0, idle: 100), monotonicNs: 1_000_000_000, into: &e)  // idle: 25 J
        #expect(e[0] < prev)
        #expect(energyDelta(previous: prev, current: e[0], maxRange: Microjoules(30_000_000)) == Microjoules(25_000_000))
    }

    @Test func noiseHasTheConfiguredSpread() throws {
        let sim = SimulatedEnergySource(cpuCount: 2, seed: 42)
        var e = [Microjoules(0)]
        var watts: [Double] = []
        for k in 0..<4000 {
            try sim.sample(stat: Self.stat(busy: UInt64(k), idle: UInt64(k)), monotonicNs: UInt64(k) * 16_000_000, into: &e)
            if k > 0 { watts.append(sim.lastWatts) }
        }
        let mean = watts.reduce(0, +) / Double(watts.count)
        let sd = (watts.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(watts.count)).squareRoot()
        #expect(abs(mean - 55) < 0.1)
        #expect(abs(sd - 1.0) < 0.05)
        // And the counter integrates the same power: ≈ 55 W × 63.98 s.
        #expect(abs(Double(e[0].value) / 1e6 - mean * 3999 * 0.016) < 0.01)
    }
}
