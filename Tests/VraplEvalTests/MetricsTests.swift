import Foundation
import Testing
@testable import VraplEval
import VraplModel

@Suite("Eval metrics")
struct MetricsTests {
    @Test func handWorked() {
        // e = [-1, 0, -2]; mean measured 3, SS_tot = 1 + 1 + 4 = 6, SS_res = 5.
        let m = ErrorMetrics(predicted: [1, 2, 3], measured: [2, 2, 5])
        #expect(m.count == 3)
        #expect(close(m.mae, 1))
        #expect(close(m.rmse, (5.0 / 3).squareRoot()))
        #expect(close(m.meanBias, -1))
        #expect(close(m.r2, 1.0 / 6))
        #expect(close(m.mape, 30))           // (0.5 + 0 + 0.4) / 3 · 100
        #expect(m.mapeCount == 3)
        let skip = ErrorMetrics(predicted: [1, 0.5], measured: [2, 0.5])  // 0.5 W < ε: skipped by MAPE
        #expect(skip.mapeCount == 1 && close(skip.mape, 50))
        let flat = ErrorMetrics(predicted: [1, 2], measured: [3, 3])
        #expect(flat.r2 == nil)
        #expect(ErrorMetrics(predicted: [Double](), measured: []).count == 0)
    }

    private func check(_ m: ErrorMetrics, _ ref: [String: Any]) throws {
        #expect(m.count == Int(try EvalFixture.double(ref["count"], "count")))
        guard m.count > 0 else { return }
        #expect(close(m.mae, try EvalFixture.double(ref["mae"], "mae")))
        #expect(close(m.rmse, try EvalFixture.double(ref["rmse"], "rmse")))
        #expect(close(m.meanBias, try EvalFixture.double(ref["mean_bias"], "bias")))
        #expect(close(m.r2, EvalFixture.optionalDouble(ref["r2"])))
        #expect(close(m.mape, EvalFixture.optionalDouble(ref["mape"])))
        #expect(m.mapeCount == Int(try EvalFixture.double(ref["mape_count"], "mape_count")))
    }

    @Test func againstNumpy() throws {
        let fx = try EvalFixture.load()
        let input = try EvalFixture.dict(fx["metrics_input"], "metrics_input")
        let p = try EvalFixture.doubles(input["predicted"], "p"), y = try EvalFixture.doubles(input["measured"], "y")
        let busy = try EvalFixture.doubles(input["busy_percent"], "busy")
        let fam = try EvalFixture.strings(input["families"], "families")
        let overall = ErrorMetrics(predicted: p, measured: y)
        #expect(overall.mapeCount == p.count - 4)
        try check(overall, try EvalFixture.dict(fx["metrics_overall"], "overall"))
        let byFamily = try EvalFixture.dict(fx["metrics_by_family"], "by_family")
        let grouped = ErrorMetrics.grouped(predicted: p, measured: y, groups: fam)
        #expect(grouped.map(\.group) == byFamily.keys.sorted())
        for g in grouped { try check(g.metrics, try EvalFixture.dict(byFamily[g.group], g.group)) }
        let idle = IdleBias(predicted: p, measured: y, busyPercent: busy)
        #expect(idle.metrics.count == busy.filter { $0 < 5 }.count && idle.metrics.count >= 3)  // 0, 1, 4.99 idle; 5.0 not
        try check(idle.metrics, try EvalFixture.dict(fx["idle_bias"], "idle"))
        let bins = BusyBin.bins(predicted: p, measured: y, busyPercent: busy)
        guard let refBins = fx["busy_bins"] as? [[String: Any]] else { throw EvalFixture.FixtureError.shape("bins") }
        #expect(bins.count == 10 && refBins.count == 10)
        for (b, r) in zip(bins, refBins) { try check(b.metrics, r) }
        #expect(bins.reduce(0) { $0 + $1.metrics.count } == p.count)
    }
}

@Suite("Eval baselines")
struct BaselineTests {
    @Test func againstNumpy() throws {
        let fx = try EvalFixture.load()
        let input = try EvalFixture.dict(fx["baseline_input"], "baseline_input")
        let u = try EvalFixture.doubles(input["u_train"], "u"), y = try EvalFixture.doubles(input["y_train"], "y")
        let f = try EvalFixture.strings(input["family_train"], "f")
        let ut = try EvalFixture.doubles(input["u_test"], "ut"), yt = try EvalFixture.doubles(input["y_test"], "yt")
        let ft = try EvalFixture.strings(input["family_test"], "ft")
        let ref = try EvalFixture.dict(fx["baselines"], "baselines")
        for kind in BaselineKind.allCases {
            let r = try EvalFixture.dict(ref[kind.rawValue], kind.rawValue)
            let b = Baseline.fit(kind, u: u, y: y, families: f, testU: ut, testY: yt, testFamilies: ft)
            let rmse = ErrorMetrics(predicted: b.predict(u: ut, families: ft), measured: yt).rmse
            #expect(close(rmse, try EvalFixture.double(r["test_rmse"], "rmse"), 1e-7), "\(kind)")
            if kind == .familyOracle {
                let fp = try EvalFixture.dict(r["family_parameters"], "fp")
                for (fam, v) in fp {
                    let want = try EvalFixture.doubles(v, fam), got = b.familyParameters[fam] ?? []
                    #expect(got.count == 2 && close(got[0], want[0], 1e-7) && close(got[1], want[1], 1e-7), "\(fam)")
                }
                #expect(b.inSampleFamilies == ["vm"])
            } else {
                let want = try EvalFixture.doubles(r["parameters"], "parameters")
                #expect(b.parameters.count == want.count)
                for (g, w) in zip(b.parameters, want) { #expect(close(g, w, 1e-7), "\(kind)") }
            }
        }
    }

    @Test func codecarbonRecoversTDP() {
        let u = stride(from: 0.0, through: 1.0, by: 0.05).map { $0 }
        let y = u.map { 120 * (0.1 + 0.9 * $0 * $0 * $0) }
        let b = Baseline.fit(.codecarbon, u: u, y: y)
        #expect(close(b.parameters[0], 120, 1e-12))
    }
}

@Suite("Eval burst over-reaction")
struct BurstTests {
    @Test func handWorked() {
        // 0.25 s rows: idle lead needs 4 idle rows, response = 4 rows, max burst 10 s = 40 rows.
        // rows 0–4 idle, 5–10 busy (burst A, 6 rows), 11–14 idle (4 rows), 15–16 busy (B: 2 rows, peak 15 % < 20 %: ignored),
        // 17–21 idle, 22–23 busy then a gap (sequence changes): not ended by idle, ignored.
        var busy = [Double](repeating: 1, count: 24)
        for i in 5...10 { busy[i] = 60 }
        busy[15] = 15; busy[16] = 12
        busy[22] = 80; busy[23] = 80
        let seq = (0..<24).map { $0 < 23 ? 0 : 1 }
        let idx = Array(0..<24)
        var p = BurstOverReaction.Parameters()
        p.idleLeadSeconds = 1; p.responseSeconds = 1; p.maxBurstSeconds = 10
        let bursts = BurstOverReaction.bursts(busyPercent: busy, sequence: seq, sampleIndex: idx, sampleIntervalSeconds: 0.25, parameters: p)
        #expect(bursts == [5..<11])
        let measured = [Double](repeating: 30, count: 24)
        var predicted = measured
        // Over-react by +8, +4, +2, 0 in the first second, then −1, −1 (steady).
        predicted[5] = 38; predicted[6] = 34; predicted[7] = 32; predicted[8] = 30; predicted[9] = 29; predicted[10] = 29
        let r = BurstOverReaction(predicted: predicted, measured: measured, busyPercent: busy, sequence: seq, sampleIndex: idx,
                                  sampleIntervalSeconds: 0.25, parameters: p)
        #expect(r.burstCount == 1 && r.responseRows == 4)
        #expect(close(r.meanSignedError, 3.5))
        #expect(close(r.responseMAE, 3.5))
        #expect(close(r.meanPeakOvershoot, 8))
        #expect(close(r.steadyMAE, 1))
    }

    @Test func needsIdleLeadAndShortBurst() {
        var p = BurstOverReaction.Parameters()
        p.maxBurstSeconds = 1   // 4 rows at 0.25 s
        // Only 3 idle rows before the first burst: no onset; second burst is 6 rows long: too long.
        let busy: [Double] = [1, 1, 1, 50, 50, 1, 1, 1, 1, 50, 50, 50, 50, 50, 50, 1]
        let b = BurstOverReaction.bursts(busyPercent: busy, sequence: [Int](repeating: 0, count: 16), sampleIndex: Array(0..<16),
                                         sampleIntervalSeconds: 0.25, parameters: p)
        #expect(b.isEmpty)
        // A gap in sample indices breaks the idle lead.
        let busy2: [Double] = [1, 1, 1, 1, 1, 50, 1]
        #expect(BurstOverReaction.bursts(busyPercent: busy2, sequence: [0, 0, 0, 0, 0, 0, 0], sampleIndex: [0, 1, 2, 10, 11, 12, 13],
                                         sampleIntervalSeconds: 0.25).isEmpty)
        #expect(BurstOverReaction.bursts(busyPercent: busy2, sequence: [0, 0, 0, 0, 0, 0, 0], sampleIndex: Array(0..<7),
                                         sampleIntervalSeconds: 0.25) == [5..<6])
    }
}

@Suite("Published baselines")
struct PublishedBaselineTests {
    @Test("the published curves reproduce their sources' figures and scale by the guest's share k/T")
    func publishedFigures() throws {
        let c = PublishedBaselineContext(hostThreads: 20, tdpWatts: 100, tdpSource: "test")
        func curve(_ k: PublishedBaselineKind) throws -> PublishedBaseline { try #require(PublishedBaseline.make(k, context: c, u: [], s: [], y: [])) }
        // Boavizta's Xeon Silver profile: 20.4 W idle, 73.5 W at 100 % (the figures).
        let boa = try curve(.boavizta).predict(u: [0, 1, 1], s: [1, 1, 0.1])
        #expect(abs(boa[0] - 20.4) < 0.05 && abs(boa[1] - 73.5) < 0.05 && abs(boa[2] - 7.35) < 0.01, "\(boa)")
        // CCF's AWS averages: 0.74 W and 3.5 W per vCPU; a 2-of-20 guest at 50 %: 2 × 2.12 W.
        let ccf = try curve(.ccfAWS).predict(u: [0, 1, 0.5], s: [1, 1, 0.1])
        #expect(abs(ccf[0] - 14.8) < 1e-9 && abs(ccf[1] - 70) < 1e-9 && abs(ccf[2] - 4.24) < 1e-9, "\(ccf)")
        // Teads' TDP ratios at the published points and between them (30 %: halfway from 0.32 to 0.75).
        let teads = try curve(.teadsTDP).predict(u: [0, 0.1, 0.3, 0.5, 1, 1.2], s: [])
        for (got, want) in zip(teads, [12.0, 32, 53.5, 75, 102, 102]) { #expect(abs(got - want) < 1e-9, "\(teads)") }
        // CodeCarbon without RAPL: half the TDP at any load.
        #expect(try curve(.codecarbonHalfTDP).predict(u: [0, 0.7], s: [1, 0.5]) == [50, 25])
        // No TDP: the TDP curves cannot be made, the others can.
        let none = PublishedBaselineContext(hostThreads: 20, tdpWatts: nil, tdpSource: "none")
        #expect(PublishedBaseline.make(.teadsTDP, context: none, u: [], s: [], y: []) == nil)
        #expect(PublishedBaseline.make(.codecarbonHalfTDP, context: none, u: [], s: [], y: []) == nil)
        #expect(PublishedBaseline.make(.boavizta, context: none, u: [], s: [], y: []) != nil)
    }

    @Test("legacy Kepler's line on CPU time recovers a and b from exact data, across guest sizes")
    func keplerLine() throws {
        var u: [Double] = [], s: [Double] = [], y: [Double] = []
        for k in [1, 2, 4, 20] {
            for i in 0...10 {
                let uu = Double(i) / 10, ss = Double(k) / 20
                u.append(uu); s.append(ss); y.append(24.5 * ss + 3.1 * uu * ss * 20)
            }
        }
        let c = PublishedBaselineContext(hostThreads: 20, tdpWatts: nil, tdpSource: "none")
        let b = try #require(PublishedBaseline.make(.keplerLegacy, context: c, u: u, s: s, y: y))
        #expect(abs(b.parameters[0] - 24.5) < 1e-9 && abs(b.parameters[1] - 3.1) < 1e-9, "\(b.parameters)")
        let p = b.predict(u: [0.5], s: [0.1])
        #expect(abs(p[0] - (2.45 + 3.1)) < 1e-9)
    }
}
