import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplTrace
@testable import VraplDataset

/// Guest views derived from a host trace's per-CPU lines, against hand-computed values.
@Suite("Guest views derived from per-CPU lines")
struct GuestViewDerivationTests {
    /// A 4-CPU host, 1 s samples: 10 samples idle (package 20 W), then 10 samples with CPUs 0-1 fully
    /// busy and CPUs 2-3 idle (package 40 W); ctxt 1000/s throughout.
    static func host() -> TraceData {
        var meta = TraceMetadata()
        meta.cpuModel = "test cpu"
        meta.powerSource = .simulated(profile: "test")
        var t = TraceData(metadata: meta)
        var per = PerCPUSeries(cpuIDs: [0, 1, 2, 3])
        var ticks = [[UInt64]](repeating: [UInt64](repeating: 0, count: 10), count: 4)
        var energy: UInt64 = 0
        var stat = ProcStatSnapshot()
        for s in 0..<20 {
            if s > 0 {
                for c in 0..<4 {
                    let busy = s >= 10 && c < 2
                    ticks[c][busy ? 0 : 3] += 100  // user or idle: 100 ticks per second
                }
                energy += s >= 10 ? 40_000_000 : 20_000_000
                stat.contextSwitches += 1000
            }
            for f in 0..<10 { for c in 0..<4 { per.fields[f].append(ticks[c][f]) } }
            var agg = CPUTimes()
            agg.user = ticks.reduce(0) { $0 + $1[0] }
            agg.idle = ticks.reduce(0) { $0 + $1[3] }
            stat.cpu = agg
            t.append(monotonicNs: UInt64(s) * 1_000_000_000 + 1, wallClockNs: Int64(s) * 1_000_000_000, stat: stat)
            if t.rapl.isEmpty { t.rapl = [RaplDomainSeries(key: "intel-rapl:0", name: "package-0", maxEnergyRangeUj: 1 << 40)] }
            t.rapl[0].energyUj.append(energy)
        }
        t.perCPU = per
        t.segments = [TraceSegment(name: "idle", firstSample: 0, lastSample: 9, parameters: ["family": "idle"]),
                      TraceSegment(name: "cpu-2", firstSample: 10, lastSample: 19, parameters: ["family": "cpu", "cpus": "0-1"])]
        return t
    }

    @Test("counters are its CPUs' lines, events its busy share, target the rule with P_idle from idle segments")
    func derive() throws {
        let g = try GuestViewDerivation.derive(Self.host(), name: "h.h5")
        let view = try #require(g.guestView)
        #expect(view.host.threads == 4 && abs(view.host.idleWatts - 20) < 1e-9)
        #expect(view.vcpus[5] == 4 && view.vcpus[15] == 2)  // idle: the whole host; cpu-2: CPUs 0-1
        // Busy segment: 200 user ticks per second over its 2 CPUs, nothing idle.
        #expect(g.cpuFields[0][15] - g.cpuFields[0][14] == 200 && g.cpuFields[3][15] == g.cpuFields[3][14])
        // ctxt: all host busy time is the guest's → all 1000/s.
        #expect(g.contextSwitches[15] - g.contextSwitches[14] == 1000)
        // Share: 20·2/4 + (40 − 20)·1 = 30 W in the busy segment; 20 W (the whole host) while idle.
        let w = try TargetPower.series(trace: g)
        #expect(abs(Double(w[15]) - 30) < 1e-3 && abs(Double(w[5]) - 20) < 1e-3)
        #expect(g.segments[1].parameters["vcpus"] == "2" && g.segments[0].parameters["cpus"] == "0-3")
        #expect(g.perCPU == nil && g.simHiddenWatts == nil)
        // Its features through the guest-share set: user 100 %, vcpu_share 2/4.
        let f = try FeatureSeries(trace: g, featureSet: .guestShare5)
        #expect(f.value(feature: 0, at: 15) == 100 && f.value(feature: 4, at: 15) == 0.5)
    }

    @Test("bad input: no per-CPU lines, a CPU set the host did not record, no idle segment")
    func badInput() throws {
        var whole = Self.host()
        whole.perCPU = nil
        let e1 = errorText { _ = try GuestViewDerivation.derive(whole, name: "w.h5") }
        #expect(e1?.contains("w.h5: /proc/stat without per-CPU lines") == true)
        #expect(errorText { _ = try GuestViewDerivation.viewIfNeeded(whole, featureSet: .guestShare5, name: "w.h5") }?.contains("neither") == true)
        var missing = Self.host()
        missing.segments[1].parameters["cpus"] = "2-7"
        let e2 = errorText { _ = try GuestViewDerivation.derive(missing, name: "m.h5") }
        #expect(e2?.contains("names CPU 4, which the trace did not record (it has 0-3)") == true)
        var noIdle = Self.host()
        noIdle.segments.removeFirst()
        #expect(errorText { _ = try GuestViewDerivation.derive(noIdle, name: "n.h5") }?.contains("no idle segment") == true)
        #expect(try GuestViewDerivation.derive(noIdle, name: "n.h5", idleWatts: 20).guestView?.host.idleWatts == 20)
    }

    @Test("per-CPU lines survive the HDF5 round trip as samples × CPUs")
    func roundTrip() throws {
        let dir = try Scratch.directory()
        var t = Self.host()
        t.metadata.topology = CPUTopology(logicalCPUs: 4, cores: 2, sockets: 1, online: [0, 1, 2, 3], siblings: [[0, 2], [1, 3]])
        let path = dir.appendingPathComponent("p.h5").path
        try TraceWriter.write(t, to: path)
        let back = try TraceReader.read(path)
        #expect(back.perCPU == t.perCPU && back.metadata.topology == t.metadata.topology)
    }

    @Test("cpulists parse and print as the kernel writes them")
    func cpuList() {
        #expect(CPUList.parse("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11])
        #expect(CPUList.parse("3-1") == nil && CPUList.parse("a") == nil && CPUList.parse("") == [])
        #expect(CPUList.format([5, 0, 1, 2, 8, 9]) == "0-2,5,8-9")
    }

    func errorText(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as VraplError { return e.message } catch { return "\(error)" }
    }
}
