import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplCampaign
import VraplTrace
@testable import VraplSim

/// Watts of a guest view's share counter per sample, as a reader derives them (NaN at 0).
func shareWatts(_ t: TraceData) -> [Double] {
    guard let v = t.guestView else { return [] }
    return DerivedSeries.perSampleWatts(energyUj: v.energyUj, maxRangeUj: v.maxEnergyRangeUj, monotonicNs: t.monotonicNs)
}

@Suite("Guest views of a host (a VM is a slice of its host)")
struct GuestViewTests {
    let profile: SimProfile
    init() throws { profile = try SimFixtures.profile() }

    func st(_ name: String, _ workers: Int) -> Combination.Stressor { .init(name: name, level: 1, workers: workers) }

    /// A schedule whose segments run confined to `vcpus` with `load` on the other threads.
    func confined(_ parts: [(ScheduledSegment.Kind, [Combination.Stressor], Int)], vcpus: Int, load: Double,
                  neighbour: String? = "cpu") -> SimSchedule {
        var s = SimFixtures.schedule(parts)
        s.segments = s.segments.map { $0.confined(vcpus: vcpus, neighbourLoad: load, neighbourStressor: neighbour) }
        return s
    }

    @Test("k = T with no neighbours: the guest's share is the whole package, interval by interval")
    func wholeHostShareIsThePackage() throws {
        let tenancy = Tenancy(vcpus: [20], neighbourStressors: ["cpu"])
        let sched = confined([(.idle, [], 200), (.steady, [st("cpu", 20)], 300), (.steady, [st("vm", 10)], 300)], vcpus: 20, load: 0)
        let t = try SyntheticGenerator(profile: profile, seed: 3).generate(schedule: sched, tenancy: tenancy)
        let pkg = derivedWatts(t), share = shareWatts(t)
        // Both counters integrate the same power in whole µJ: they differ by under 1 µJ per interval.
        for i in 1..<t.sampleCount { #expect(abs(pkg[i] - share[i]) < 2e-6 / 0.016 + 1e-9) }
        #expect(t.guestView?.vcpus.allSatisfy { $0 == 20 } == true)
        #expect(t.metadata.formatVersion == 2)
    }

    @Test("µs busy time (/cpu_usage): whole kernel ticks of 4 ms, the same long-run busy time as the jiffies, and closer to the true busy CPUs at 16 ms for k = 1, 2, 4")
    func cpuUsageIsFinerThanTicks() throws {
        for k in [1, 2, 4] {
            let tenancy = Tenancy(vcpus: [k], neighbourStressors: ["cpu"])
            // Half the guest's CPUs busy: a partial load, where tick quantization hurts most.
            let sched = confined([(.idle, [], 200), (.steady, [st("cpu", max(1, k / 2))], 1500)], vcpus: k, load: 0)
            var activity = SyntheticGenerator.TenantActivity()
            let t = try SyntheticGenerator(profile: profile, seed: 11).generate(
                schedule: sched, startTimeNs: 0, labels: [:], tenancy: tenancy, activity: &activity, progress: nil)
            let u = try #require(t.cpuUsage)
            #expect(u.source.hasPrefix("sim:") && u.userUsec.count == t.sampleCount)
            #expect(u.userUsec.allSatisfy { $0 % 4000 == 0 } && u.systemUsec.allSatisfy { $0 % 4000 == 0 })
            #expect(zip(u.userUsec, u.userUsec.dropFirst()).allSatisfy { $0 <= $1 })
            let n = t.sampleCount, a = 300
            let seconds = Double(t.monotonicNs[n - 1] - t.monotonicNs[a]) / 1e9
            let tickBusy = [0, 1, 2, 5, 6].reduce(0.0) { $0 + Double(t.cpuFields[$1][n - 1] - t.cpuFields[$1][a]) } / 100 / seconds
            let usecBusy = Double(u.userUsec[n - 1] - u.userUsec[a] + u.systemUsec[n - 1] - u.systemUsec[a]) / 1e6 / seconds
            #expect(abs(usecBusy - tickBusy) < 0.02 * Double(k), "k \(k): µs \(usecBusy) vs ticks \(tickBusy) busy CPUs")
            // Per 16 ms interval, against the generator's true busy CPUs of that interval.
            var tickErr: [Double] = [], usecErr: [Double] = []
            for i in (a + 1)..<n {
                let dt = Double(t.monotonicNs[i] - t.monotonicNs[i - 1]) / 1e9
                let ticks = [0, 1, 2, 5, 6].reduce(0.0) { $0 + Double(t.cpuFields[$1][i] - t.cpuFields[$1][i - 1]) } / 100 / dt
                let usec = Double(u.userUsec[i] - u.userUsec[i - 1] + u.systemUsec[i] - u.systemUsec[i - 1]) / 1e6 / dt
                tickErr.append((ticks - activity.busy[i]) / Double(k)); usecErr.append((usec - activity.busy[i]) / Double(k))
            }
            #expect(rms(usecErr) < 0.6 * rms(tickErr), "k \(k): RMS error of busy fraction, µs \(rms(usecErr)) vs ticks \(rms(tickErr))")
        }
    }

    @Test("a 2-vCPU guest under its own full load: counters of its 2 CPUs, a share near P_idle·2/20 + its busy part")
    func smallGuestSeesItsOwnCPUs() throws {
        let tenancy = Tenancy(vcpus: [2], neighbourStressors: ["cpu"])
        let sched = confined([(.idle, [], 400), (.steady, [st("cpu", 2)], 600)], vcpus: 2, load: 0)
        let t = try SyntheticGenerator(profile: profile, seed: 4).generate(schedule: sched, tenancy: tenancy)
        // The guest's tick total over an interval is k · Δt · USER_HZ: 2 CPUs, not 20.
        let n = t.sampleCount
        let total = (0..<8).reduce(0.0) { $0 + Double(t.cpuFields[$1][n - 1] - t.cpuFields[$1][n - 501]) }
        let seconds = Double(t.monotonicNs[n - 1] - t.monotonicNs[n - 501]) / 1e9
        #expect(abs(total / seconds - 200) < 5)
        let share = shareWatts(t), pkg = derivedWatts(t)
        let idleShare = mean(share[100...399]), busyShare = mean(share[700...(n - 1)]), busyPkg = mean(pkg[700...(n - 1)])
        #expect(abs(idleShare - profile.idleWatts * 2 / 20) < 0.6)  // the idle part plus a little housekeeping
        // Its busy part: about 2 busy threads at the cpu mix's W per thread, under the turbo of a nearly idle host.
        let expected = profile.idleWatts * 2 / 20 + 2 * profile.wattsPerBusyThread(profile.stressors["cpu"]!.mix) * profile.turbo(busyThreads: 2.3)
        #expect(abs(busyShare - expected) / expected < 0.15)
        #expect(busyPkg > busyShare + profile.idleWatts * 0.8)  // the package also carries the other 18 threads' idle power
    }

    @Test("busy neighbours raise the package but do not make a guest's share exceed the package")
    func neighboursRaiseThePackage() throws {
        let tenancy = Tenancy(vcpus: [4], neighbourLoads: [0, 1], neighbourStressors: ["cpu"])
        let alone = try SyntheticGenerator(profile: profile, seed: 5).generate(
            schedule: confined([(.steady, [st("cpu", 4)], 600)], vcpus: 4, load: 0), tenancy: tenancy)
        let crowded = try SyntheticGenerator(profile: profile, seed: 5).generate(
            schedule: confined([(.steady, [st("cpu", 4)], 600)], vcpus: 4, load: 1), tenancy: tenancy)
        let pa = mean(derivedWatts(alone)[200...599]), pc = mean(derivedWatts(crowded)[200...599])
        let sa = mean(shareWatts(alone)[200...599]), sc = mean(shareWatts(crowded)[200...599])
        #expect(pc > pa + 20)
        #expect(sc < pc && sa < pa)
        // Same mix everywhere: the busy guest's share only falls by the host's lower turbo factor.
        #expect(sc < sa && sc > 0.5 * sa)
    }

    @Test("a guest view survives the HDF5 round trip and h5py reads it")
    func roundTrip() throws {
        let tenancy = Tenancy(vcpus: [2, 8], neighbourStressors: ["vm"])
        var sched = confined([(.idle, [], 100), (.steady, [st("cpu", 2)], 100)], vcpus: 2, load: 0.5)
        sched.segments[1] = sched.segments[1].confined(vcpus: 8, neighbourLoad: 0.5, neighbourStressor: "vm")
        let t = try SyntheticGenerator(profile: profile, seed: 6).generate(schedule: sched, tenancy: tenancy)
        let path = try Scratch.file("g.h5")
        try TraceWriter.write(t, to: path)
        let back = try TraceReader.read(path)
        #expect(back.guestView == t.guestView)
        #expect(back.guestView?.vcpuRange == 2...8)
        #expect(back.segments[1].parameters["vcpus"] == "8" && back.segments[1].parameters["neighbour_load"] == "0.5")
        let script = """
        import h5py, json, sys
        f = h5py.File(sys.argv[1], "r")
        g = f["guest_view"]
        host = json.loads(g.attrs["host"])
        assert host["threads"] == 20 and abs(host["idle_watts"] - \(profile.idleWatts)) < 1e-9, host
        assert g.attrs["rule"] == "idle-by-allocation"
        assert list(g["vcpus"][:3]) == [2, 2, 2] and g["vcpus"][-1] == 8
        assert g["energy_uj"].shape == f["timestamp_monotonic_ns"].shape
        print("ok")
        """
        let (status, text) = try ChildProcess.python3(script, [path])  // the python3 on PATH (the test environment's, with h5py)
        #expect(status == 0, "\(text)")
    }

    @Test("bad tenancy: a guest larger than the host, unknown keys and loads outside [0, 1] are refused with the reason")
    func badTenancy() throws {
        #expect(throws: VraplError.self) { try Tenancy(vcpus: [32], neighbourStressors: []).validate(hostThreads: 20) }
        let base = "stressors: [cpu]\nlevels: [1.0]\nduration: 10s\n"
        for (yaml, fragment) in [("tenancy: {vcpus: [2], neighbour: [0.5]}", "unknown key 'tenancy.neighbour'"),
                                 ("tenancy: {vcpus: [0]}", "positive integers"),
                                 ("tenancy: {vcpus: [2], neighbour_load: [1.5]}", "busy fractions in [0, 1]"),
                                 ("tenancy: {vcpus: [2], rule: fair}", "unknown share rule 'fair'")] {
            #expect { _ = try CampaignMatrix.parse(yaml: base + yaml) } throws: { "\($0)".contains(fragment) }
        }
        let sched = confined([(.idle, [], 10)], vcpus: 2, load: 0)
        #expect(throws: VraplError.self) { _ = try SyntheticGenerator(profile: profile, seed: 1).generate(schedule: sched) }
    }

    @Test("co-tenancy: guests filling the host on one time line; their true shares sum to the package, each sees its own CPUs")
    func coTenantsSumToThePackage() throws {
        let sizes = [2, 4, 6, 8]
        let tenants = sizes.enumerated().map { i, k in
            CoTenancy.Tenant(vcpus: k, schedule: confined([(.idle, [], 150 + 50 * i), (.steady, [st(i % 2 == 0 ? "cpu" : "vm", k)], 450 - 50 * i)],
                                                          vcpus: k, load: 0, neighbour: nil), seed: UInt64(20 + i))
        }
        let traces = try CoTenancy.generate(profile: profile, tenants: tenants, seed: 9)
        #expect(traces.count == 4)
        let pkg = derivedWatts(traces[0])
        let shares = traces.map(shareWatts)
        var worst = 0.0
        for t in 1..<traces[0].sampleCount {
            // Each tenant's counters integrate over its own sample times: compare power, not energy.
            let sum = shares.reduce(0) { $0 + $1[t] }
            worst = max(worst, abs(sum - pkg[t]) / pkg[t])
        }
        #expect(worst < 0.02)  // the same power over Δt that differ by the tenants' wake-up jitter
        for (trace, k) in zip(traces, sizes) {
            #expect(trace.guestView?.vcpus.allSatisfy { $0 == UInt64(k) } == true)
            let n = trace.sampleCount
            let ticks = (0..<8).reduce(0.0) { $0 + Double(trace.cpuFields[$1][n - 1] - trace.cpuFields[$1][n - 301]) }
            #expect(abs(ticks / (Double(trace.monotonicNs[n - 1] - trace.monotonicNs[n - 301]) / 1e9) - Double(k) * 100) < 5)
        }
        #expect(traces.allSatisfy { $0.cpuFields[7].first == $0.cpuFields[7].last })  // no steal: the host has room
        // A tenant larger than the host is refused.
        #expect(throws: VraplError.self) {
            _ = try CoTenancy.generate(profile: profile, tenants: [CoTenancy.Tenant(vcpus: 24, schedule: tenants[0].schedule, seed: 1)], seed: 9)
        }
    }

    @Test("oversubscription: two busy 16-vCPU tenants on 20 threads each run 20/32 of the time they want, the rest is steal in their /proc/stat; the package sees at most the host's threads and the shares still sum to it")
    func oversubscriptionIsSteal() throws {
        let tenants = (0..<2).map { i in
            CoTenancy.Tenant(vcpus: 16, schedule: confined([(.idle, [], 200), (.steady, [st("cpu", 16)], 600)], vcpus: 16, load: 0, neighbour: nil),
                             seed: UInt64(40 + i))
        }
        let traces = try CoTenancy.generate(profile: profile, tenants: tenants, seed: 3)
        let alone = try CoTenancy.generate(profile: profile, tenants: [tenants[0]], seed: 3)[0]
        func fieldRate(_ t: TraceData, _ f: [Int], from a: Int, to b: Int) -> Double {
            f.reduce(0.0) { $0 + Double(t.cpuFields[$1][b] - t.cpuFields[$1][a]) } / (Double(t.monotonicNs[b] - t.monotonicNs[a]) / 1e9) / 100
        }
        let n = traces[0].sampleCount, a = n - 400, b = n - 1
        for t in traces {
            // Busy CPUs (user + system + softirq) and steal in CPUs, over the busy stretch.
            let busy = fieldRate(t, [0, 2, 6], from: a, to: b), steal = fieldRate(t, [7], from: a, to: b)
            let wanted = fieldRate(alone, [0, 2, 6], from: a, to: b)
            #expect(abs(busy - wanted * 20 / 32) < 0.3, "busy \(busy) of wanted \(wanted)")
            #expect(abs(steal - wanted * 12 / 32) < 0.3, "steal \(steal)")
            // Totals unchanged: k CPUs of ticks per second.
            #expect(abs(fieldRate(t, Array(0..<8), from: a, to: b) - 16) < 0.1)
            // Counters stay monotone.
            for f in 0..<8 { #expect(zip(t.cpuFields[f], t.cpuFields[f].dropFirst()).allSatisfy { $0 <= $1 }) }
            #expect(t.metadata.labels["sim_oversubscription"] != nil)
        }
        // Stolen time was not idle time; and the idle stretch before has no steal.
        #expect(traces[0].cpuFields[7][150] == traces[0].cpuFields[7][0])
        let pkg = derivedWatts(traces[0])
        let shares = traces.map(shareWatts)
        var worst = 0.0
        for t in (n - 400)..<n { worst = max(worst, abs(shares[0][t] + shares[1][t] - pkg[t]) / pkg[t]) }
        #expect(worst < 0.02)
        // The package under two oversubscribed tenants is the full host's: no more than all 20 threads busy.
        let full = try CoTenancy.generate(profile: profile, tenants: [CoTenancy.Tenant(vcpus: 20, schedule: confined([(.idle, [], 200), (.steady, [st("cpu", 20)], 600)], vcpus: 20, load: 0, neighbour: nil), seed: 40)], seed: 3)[0]
        let mean = { (w: [Double]) in w[(n - 400)..<n].reduce(0, +) / 400 }
        #expect(mean(pkg) < mean(derivedWatts(full)) * 1.05, "\(mean(pkg)) vs \(mean(derivedWatts(full)))")
    }

    @Test("a tenancy matrix: every combination once per (k, neighbour load), workers a fraction of k")
    func scheduleExpansion() throws {
        let m = try CampaignMatrix.parse(yaml: """
        stressors: [cpu]
        levels: [0.5, 1.0]
        duration: 10s
        tenancy: {vcpus: [2, 8], neighbour_load: [0, 1]}
        """)
        let s = SimSchedule.build(matrix: m, threads: 20, seed: 1, scale: 0.1)
        let steady = s.segments.filter { $0.kind == .steady }
        #expect(steady.count == 2 * 2 * 2)
        for seg in steady {
            let k = try #require(seg.vcpus)
            #expect(seg.stressors[0].workers == max(1, Int((seg.stressors[0].level * Double(k)).rounded())))
            #expect(seg.parameters["vcpus"] == String(k))
        }
        #expect(s.segments.allSatisfy { $0.vcpus != nil })
        // Without tenancy nothing is confined and the schedule is the one it always was.
        let plain = try CampaignMatrix.parse(yaml: "stressors: [cpu]\nlevels: [0.5, 1.0]\nduration: 10s\n")
        #expect(SimSchedule.build(matrix: plain, threads: 20, seed: 1, scale: 0.1).segments.allSatisfy { $0.vcpus == nil })
    }
}
