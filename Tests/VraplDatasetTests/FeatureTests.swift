import Foundation
import Testing
import VraplCore
import VraplTrace
@testable import VraplDataset

@Suite struct FeatureTests {
    func sample(_ tNs: UInt64, user: UInt64, system: UInt64, idle: UInt64, iowait: UInt64, ctxt: UInt64,
                nice: UInt64 = 0, steal: UInt64 = 0, guest: UInt64 = 0, intr: UInt64 = 0, running: UInt64 = 0, pgfault: UInt64? = nil) -> RawSample {
        var s = ProcStatSnapshot()
        s.cpu.user = user; s.cpu.system = system; s.cpu.idle = idle; s.cpu.iowait = iowait; s.cpu.nice = nice
        s.cpu.steal = steal; s.cpu.guest = guest
        s.contextSwitches = ctxt; s.interrupts = intr; s.procsRunning = running
        return RawSample(monotonicNs: tNs, stat: s, pageFaults: pgfault)
    }

    @Test func decodeRapl4HandWorked() throws {
        var x = FeatureExtractor(featureSet: .decodeRapl4)
        #expect(x.push(sample(0, user: 100, system: 100, idle: 100, iowait: 100, ctxt: 1000)) == nil)
        // Δuser 30, Δsystem 10, Δidle 50, Δiowait 10 → 30 %, 10 %, 10 %; Δctxt 1000 in 16 ms → log1p(62500).
        let row_ = x.push(sample(16_000_000, user: 130, system: 110, idle: 150, iowait: 110, ctxt: 2000))
        let row = try #require(row_)
        #expect(row == [30, 10, 10, Float(log1p(62_500.0))])
        // No tick in the interval: percentages repeat; the rate is a real 0.
        let idle_ = x.push(sample(32_000_000, user: 130, system: 110, idle: 150, iowait: 110, ctxt: 2000))
        let idle = try #require(idle_)
        #expect(idle == [30, 10, 10, 0])
        // A counter that went backwards counts as zero: Δuser 0, Δsystem 0, Δidle 4 → 0,0,0.
        let back_ = x.push(sample(48_000_000, user: 120, system: 110, idle: 154, iowait: 110, ctxt: 2032))
        let back = try #require(back_)
        #expect(back == [0, 0, 0, Float(log1p(2000.0))])
    }

    @Test("busy time from cgroup cpu.stat: user and system % are µs over Δt × k; iowait stays a tick share; a sample without µs falls back to ticks")
    func cgroupBusySource() throws {
        let set = FeatureSet.decodeRapl4.withBusySource(.cgroupCPUStat)
        #expect(set.needsCPUUsage && set.featureNames == FeatureSet.decodeRapl4.featureNames && set != .decodeRapl4)
        var x = FeatureExtractor(featureSet: set)
        func s(_ t: UInt64, _ u: UInt64, _ sy: UInt64, usage: CPUUsage?) -> RawSample {
            var r = sample(t, user: u, system: sy, idle: 100, iowait: 10, ctxt: 0)
            r.vcpus = 2; r.cpuUsage = usage
            return r
        }
        #expect(x.push(s(0, 100, 100, usage: CPUUsage(userUsec: 1_000_000, systemUsec: 500_000))) == nil)
        // 16 ms on 2 CPUs = 32 000 µs of capacity: 12 000 µs user = 37.5 %, 4 000 µs system = 12.5 %.
        // The ticks say Δuser 1 of Δtotal 1 (100 %): the µs win; iowait from the ticks (0 of 1).
        let row_ = x.push(s(16_000_000, 101, 100, usage: CPUUsage(userUsec: 1_012_000, systemUsec: 504_000)))
        let row = try #require(row_)
        #expect(abs(row[0] - 37.5) < 1e-4 && abs(row[1] - 12.5) < 1e-4 && row[2] == 0, "\(row)")
        // No µs in this sample: the tick shares (Δuser 2, Δsystem 2 of 4).
        let fallback_ = x.push(s(32_000_000, 103, 102, usage: nil))
        let fallback = try #require(fallback_)
        #expect(fallback[0] == 50 && fallback[1] == 50)
        // The proc-stat set ignores µs entirely.
        var plain = FeatureExtractor(featureSet: .decodeRapl4)
        _ = plain.push(s(0, 100, 100, usage: CPUUsage(userUsec: 0, systemUsec: 0)))
        let plainRow = plain.push(s(16_000_000, 101, 100, usage: CPUUsage(userUsec: 16_000, systemUsec: 0)))
        #expect(plainRow?[0] == 100)
        // A trace without /cpu_usage cannot feed the cgroup set: one line naming what is missing.
        var trace = TraceData(metadata: TraceMetadata())
        for t in 0..<5 { trace.append(monotonicNs: UInt64(t) * 16_000_000, wallClockNs: 0, stat: ProcStatSnapshot()) }
        #expect(throws: VraplError.self) { _ = try FeatureSeries(trace: trace, featureSet: set) }
        do { _ = try FeatureSeries(trace: trace, featureSet: set) } catch { #expect("\(error)".contains("/cpu_usage") && "\(error)".contains("busy_source: proc-stat")) }
        trace.metadata.coreCount = 4
        trace.cpuUsage = CPUUsageSeries(source: "test", userUsec: [0, 32_000, 64_000, 64_000, 128_000], systemUsec: [0, 0, 0, 0, 0])
        let series = try FeatureSeries(trace: trace, featureSet: set)
        // The whole machine's 4 CPUs: 32 000 µs of 64 000 = 50 %.
        #expect(series.value(feature: 0, at: 1) == 50 && series.value(feature: 0, at: 3) == 0 && series.value(feature: 0, at: 4) == 100)
    }

    @Test func extendedUsesProperTotal() throws {
        var x = FeatureExtractor(featureSet: .extended)
        #expect(FeatureSet.extended.count == 16)
        _ = x.push(sample(0, user: 0, system: 0, idle: 0, iowait: 0, ctxt: 0, pgfault: 1000))
        // user 40 (of which guest 20), nice 10, system 10, idle 30, steal 10 → total 100 (guest not added again).
        let row_ = x.push(sample(500_000_000, user: 40, system: 10, idle: 30, iowait: 0, ctxt: 50,
                                             nice: 10, steal: 10, guest: 20, intr: 500, running: 3, pgfault: 1500))
        let row = try #require(row_)
        let names = FeatureSet.extended.featureNames
        func v(_ n: String) -> Float { row[names.firstIndex(of: n) ?? 0] }
        #expect(v("user_percent") == 40)
        #expect(v("nice_percent") == 10)
        #expect(v("steal_percent") == 10)
        #expect(v("guest_percent") == 20)
        #expect(v("idle_percent") == 30)
        #expect(v("log_ctx_switches") == Float(log1p(100.0)))
        #expect(v("log_interrupts") == Float(log1p(1000.0)))
        #expect(v("procs_running") == 3)
        #expect(v("log_page_faults") == Float(log1p(1000.0)))
    }

    @Test func namedLookup() throws {
        #expect(try FeatureSet(named: "decode-rapl-4") == .decodeRapl4)
        #expect(try FeatureSet(featureNames: ["user_percent", "system_percent", "iowait_percent", "log_ctx_switches"]) == .decodeRapl4)
        #expect(throws: VraplError.self) { try FeatureSet(named: "psi") }
    }

    /// The batch series is the streaming extractor run over the trace: identical rows, and equal to
    /// the closed form of the ramp.
    @Test(arguments: FeatureSet.all)
    func batchEqualsStreaming(set: FeatureSet) throws {
        var trace = TestTraces.ramp(40)
        if set.needsHostShape { trace.guestView = TestTraces.guestView(samples: 40, vcpus: 2) }
        let series = try FeatureSeries(trace: trace, featureSet: set)
        #expect(series.firstValid == 1)
        var x = FeatureExtractor(featureSet: set, hostThreads: trace.guestView?.host.threads)
        for t in 0..<trace.sampleCount {
            var s = ProcStatSnapshot()
            for i in 0..<10 { var f = s.cpu.fields; f[i] = trace.cpuFields[i][t]; s.cpu.fields = f }
            s.contextSwitches = trace.contextSwitches[t]
            s.interrupts = trace.interrupts[t]
            s.procsRunning = trace.procsRunning[t]
            let row = x.push(RawSample(monotonicNs: trace.monotonicNs[t], stat: s, pageFaults: trace.vmstat[0].values[t],
                                       vcpus: trace.guestView.map { Int($0.vcpus[t]) } ?? 0))
            if t == 0 { #expect(row == nil); continue }
            let expected = try #require(row)
            for f in 0..<set.count { #expect(series.value(feature: f, at: t) == expected[f]) }
        }
        if set == .guestShare5 { for t in 1..<40 { #expect(series.value(feature: 4, at: t) == Float(2.0 / 20.0)) } }
        if set == .decodeRapl4 || set == .guestShare5 {
            for t in 1..<40 { for f in 0..<4 { #expect(abs(series.value(feature: f, at: t) - TestTraces.rampFeature(f, t)) <= 1e-4 * max(1, abs(TestTraces.rampFeature(f, t)))) } }
        }
    }

    @Test("guest-share-5 needs a guest view; the target of a guest view is its share counter; one host shape per dataset")
    func guestViewData() throws {
        let whole = TestTraces.ramp(40)
        #expect(throws: VraplError.self) { _ = try FeatureSeries(trace: whole, featureSet: .guestShare5) }
        var view = TestTraces.ramp(40)
        var gv = TestTraces.guestView(samples: 40, vcpus: 2)
        gv.energyUj = (0..<40).map { UInt64($0) * 80_000 }  // 80 mJ per 16 ms tick = 5 W
        view.guestView = gv
        let target = try TargetPower.series(trace: view)
        for t in 1..<40 { #expect(abs(Double(target[t]) - 80_000e-6 / (Double(view.monotonicNs[t] - view.monotonicNs[t - 1]) / 1e9)) < 1e-3) }
        #expect(TargetPower.name(trace: view) == "guest_share_watts" && TargetPower.name(trace: whole) == "package_power_watts")
        let options = WindowOptions(embedding: DelayEmbedding(d: 4, tau: 1), skipSamples: 0)
        var builder = WindowDatasetBuilder(featureNames: FeatureSet.guestShare5.featureNames, options: options)
        try builder.add(trace: view, featureSet: .guestShare5, name: "a.h5")
        var other = view
        other.guestView?.host.threads = 32
        #expect(throws: VraplError.self) { try builder.add(trace: other, featureSet: .guestShare5, name: "b.h5") }
        #expect(builder.build().guestView?.vcpus == 2...2)
    }

    @Test func packagePowerSumsPackagesAndHandlesWrap() throws {
        var trace = TestTraces.trace([
            .init(t: 0, user: 0, system: 0, idle: 0, iowait: 0, ctxt: 0, energy: 999_990),
            .init(t: 500_000_000, user: 0, system: 0, idle: 0, iowait: 0, ctxt: 0, energy: 9),       // wrapped: 10 + 9 = 19 µJ… over range 999_999
            .init(t: 1_000_000_000, user: 0, system: 0, idle: 0, iowait: 0, ctxt: 0, energy: 1_000_009),
        ], maxRange: 999_999)
        // A second package zone adds 2 J per interval; a core zone is ignored.
        trace.rapl.append(RaplDomainSeries(key: "intel-rapl:1", name: "package-1", maxEnergyRangeUj: 0, energyUj: [0, 2_000_000, 4_000_000]))
        trace.rapl.append(RaplDomainSeries(key: "intel-rapl:0:0", name: "core", maxEnergyRangeUj: 0, energyUj: [0, 9_000_000, 9_000_001]))
        let w = try PackagePower.series(trace: trace)
        #expect(w[0].isNaN)
        // (999_999 − 999_990) + 9 + 1 = 19 µJ, + 2 J, over 0.5 s.
        #expect(abs(w[1] - Float((19.0 / 1e6 + 2) / 0.5)) < 1e-5)
        #expect(abs(w[2] - Float((1.0 + 2) / 0.5)) < 1e-5)
        trace.rapl = []
        #expect(throws: VraplError.self) { try PackagePower.series(trace: trace) }
    }

    @Test func extendedNeedsPageFaults() {
        var trace = TestTraces.ramp(5)
        trace.vmstat = []
        #expect(throws: VraplError.self) { try FeatureSeries(trace: trace, featureSet: .extended) }
    }

    @Test func decodeRaplCSV() throws {
        let csv = """
        timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec,package_power_watts
        1700000000.000,10,5,1,999,30.5
        1700000000.016,20,5,0,0,40
        """
        let parsed = try DecodeRaplCSV(text: csv)
        #expect(parsed.series.count == 2)
        #expect(parsed.series.firstValid == 0)
        #expect(parsed.series.value(feature: 0, at: 1) == 20)
        #expect(parsed.series.value(feature: 3, at: 0) == Float(log1p(999.0)))
        #expect(parsed.packageWatts == [30.5, 40])
        #expect(throws: VraplError.self) { try DecodeRaplCSV(text: "timestamp_unix,user_percent\n1,2\n") }
    }
}

/// Issue: one zero-tick rule everywhere. A trace with intervals in which no CPU tick moved (16 ms on
/// a small VM at USER_HZ 100) gives the same features read directly and read from its own DECODE-RAPL
/// CSV export, so `predict --trace` and `predict --csv` of the export agree.
@Suite struct ZeroTickRuleTests {
    @Test func traceAndItsExportGiveTheSameFeatures() throws {
        var rows: [TestTraces.Row] = []
        var user: UInt64 = 0, system: UInt64 = 0, idle: UInt64 = 0, iowait: UInt64 = 0, ctxt: UInt64 = 0, energy: UInt64 = 0
        for i in 0..<200 {
            // Every third interval no tick moves (the case DECODE-RAPL's code writes as 0 %).
            if i % 3 != 2 { user += UInt64(i % 2); system += 1; idle += UInt64(i % 4 == 0 ? 0 : 1); iowait += UInt64(i % 5 == 0 ? 1 : 0) }
            ctxt += 100 + UInt64(i % 7) * 13
            energy += 400_000 + UInt64(i % 11) * 10_000
            rows.append(.init(t: UInt64(i) * 16_000_000, user: user, system: system, idle: idle, iowait: iowait, ctxt: ctxt, energy: energy))
        }
        let trace = TestTraces.trace(rows)
        let direct = try FeatureSeries(trace: trace, featureSet: .decodeRapl4)
        let csv = try DecodeRaplCSV(text: DecodeRaplCSVConversion.export(trace), name: "export.csv").series
        #expect(csv.count == direct.count - direct.firstValid)
        var worst: Float = 0
        for r in 0..<csv.count {
            for f in 0..<4 {
                worst = max(worst, abs(csv.value(feature: f, at: r) - direct.value(feature: f, at: r + direct.firstValid)))
            }
        }
        #expect(worst <= 1e-4, "largest feature difference \(worst)")
        // The zero-tick intervals hold the previous percentages instead of dropping to 0 %.
        #expect(csv.value(feature: 1, at: 2) == csv.value(feature: 1, at: 1) && csv.value(feature: 1, at: 2) > 0)
    }
}
