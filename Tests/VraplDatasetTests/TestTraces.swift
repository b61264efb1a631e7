import Foundation
import VraplCore
import VraplTrace
@testable import VraplDataset

/// Small in-memory traces with hand-chosen counters.
enum TestTraces {
    /// One sample's raw counters: cumulative user/system/idle/iowait ticks, ctxt, and package energy.
    struct Row { var t: UInt64; var user: UInt64; var system: UInt64; var idle: UInt64; var iowait: UInt64; var ctxt: UInt64; var energy: UInt64 }

    static func trace(_ rows: [Row], maxRange: UInt64 = 1_000_000_000, segments: [TraceSegment] = [],
                      source: PowerSource = .simulated(profile: "test")) -> TraceData {
        var md = TraceMetadata()
        md.hostName = "test"
        md.powerSource = source
        var trace = TraceData(metadata: md)
        trace.rapl = [RaplDomainSeries(key: "intel-rapl:0", name: "package-0", maxEnergyRangeUj: maxRange)]
        trace.vmstat = [NamedCounterSeries(name: "pgfault")]
        for (i, r) in rows.enumerated() {
            var s = ProcStatSnapshot()
            s.cpu.user = r.user; s.cpu.system = r.system; s.cpu.idle = r.idle; s.cpu.iowait = r.iowait
            s.contextSwitches = r.ctxt
            trace.append(monotonicNs: r.t, wallClockNs: 1_700_000_000_000_000_000 + Int64(r.t), stat: s,
                         vmstatValues: [UInt64(i) * 10], energyUj: [r.energy])
        }
        trace.segments = segments
        return trace
    }

    /// `n` samples 16 ms apart where every interval has known, sample-dependent deltas:
    /// Δuser = t % 7 + 1, Δsystem = 2, Δidle = 5, Δiowait = t % 3, Δctxt = 100·t, energy +16000·(t%5+1) µJ
    /// (power (t%5+1) W).
    static func ramp(_ n: Int, segments: [TraceSegment] = []) -> TraceData {
        var rows: [Row] = []
        var r = Row(t: 1_000_000_000, user: 1000, system: 500, idle: 9000, iowait: 10, ctxt: 50_000, energy: 123_456)
        rows.append(r)
        for t in 1..<n {
            r.t += 16_000_000
            r.user += UInt64(t % 7 + 1); r.system += 2; r.idle += 5; r.iowait += UInt64(t % 3)
            r.ctxt += UInt64(100 * t); r.energy += UInt64(16_000 * (t % 5 + 1))
            rows.append(r)
        }
        return trace(rows, segments: segments)
    }

    /// The expected decode-rapl-4 feature f at sample t ≥ 1 of `ramp`.
    /// A guest view of `samples` samples: k = `vcpus` of a 20-thread host at P_idle 25 W, share counter at 0.
    static func guestView(samples: Int, vcpus: Int) -> GuestViewSeries {
        GuestViewSeries(host: HostShape(threads: 20, cpuModel: "test", idleWatts: 25), rule: .idleByAllocation, maxEnergyRangeUj: 1 << 40,
                        vcpus: Array(repeating: UInt64(vcpus), count: samples), energyUj: Array(repeating: 0, count: samples))
    }

    static func rampFeature(_ f: Int, _ t: Int) -> Float {
        let du = Double(t % 7 + 1), ds = 2.0, di = 5.0, dw = Double(t % 3)
        let total = du + ds + di + dw
        switch f {
        case 0: return Float(du / total * 100)
        case 1: return Float(ds / total * 100)
        case 2: return Float(dw / total * 100)
        default: return Float(log1p(Double(100 * t) / 0.016))
        }
    }
}
