import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplCampaign
import VraplDataset
import VraplModel
import VraplNN
import VraplSim
import VraplTrace
@testable import VraplEval

/// `guest_size` and `co_tenancy` of `vrapl evaluate` on small simulated guest views with untrained
/// (seeded) models: grouping, the whole-host model on the same windows, the per-vCPU baseline's fit and
/// the co-tenancy sums, each checked against an independent computation, not accuracy.
@Suite("Eval by guest size and co-tenancy")
struct GuestSizeTests {
    static func profile() throws -> SimProfile {
        try SimProfile.load(SimCeilingTests.root.appendingPathComponent("configs/sim/xeon-silver-4210r.yaml").path)
    }

    static func matrix() -> CampaignMatrix {
        var m = CampaignMatrix(name: "gs", stressors: ["cpu", "vm"], levels: ["cpu": [1.0], "vm": [1.0]], duration: 3, cooldown: 0.5)
        m.repeats = 2
        m.tenancy = Tenancy(vcpus: [2, 8], neighbourLoads: [0, 1], neighbourStressors: ["cpu"])
        return m
    }

    static func model(guestShaped: Bool) throws -> ModelFile {
        let features = guestShaped ? FeatureSet.guestShare5.featureNames : FeatureSet.decodeRapl4.featureNames
        let arch = Architecture.cnnV41(numFeatures: features.count, sequenceLength: 8)
        let net = try Network(architecture: arch, maxBatch: 8)
        net.initialize(seed: 3)
        var m = ModelFile(architecture: arch, features: features, embedding: Embedding(d: 8, tau: 1, sampleIntervalMs: 16),
                          normalization: Normalization(featureMin: [Double](repeating: 0, count: 8 * features.count),
                                                       featureRange: [Double](repeating: 50, count: 8 * features.count)),
                          target: guestShaped ? "guest_share_watts" : "package_power_watts",
                          powerSource: .simulated(profile: "xeon-silver-4210r"), metrics: #"{"split":"segment"}"#,
                          tensors: try ModelFile.tensors(from: net))
        if guestShaped {
            let p = try profile()
            m.guestShape = GuestShape(host: HostShape(threads: 20, cpuModel: p.cpuModel, idleWatts: p.idleWatts), vcpus: 1...20, rule: .idleByAllocation)
        }
        return m
    }

    @Test func groupsByGuestSizeAndSumsCoTenants() throws {
        let dir = try Scratch.directory()
        let p = try Self.profile(), m = Self.matrix()
        let trace = try SyntheticGenerator(profile: p, seed: 4).generate(
            schedule: SimSchedule.build(matrix: m, threads: 20, seed: 4), tenancy: m.tenancy)
        try TraceWriter.write(trace, to: dir.appendingPathComponent("data.h5").path)
        let guest = dir.appendingPathComponent("g.safetensors"), whole = dir.appendingPathComponent("w.safetensors")
        var guestModel = try Self.model(guestShaped: true)
        // A fixed interval of ±4 W (one Mondrian bin): a window is covered when its error is at most 4 W.
        guestModel.interval = PredictionInterval(nominal: 0.8, method: "test", edges: [], low: [-4], high: [4], calibrationWindows: 100)
        try guestModel.write(to: guest)
        try Self.model(guestShaped: false).write(to: whole)
        // Two co-tenants of one host time line.
        var coPaths: [String] = []
        var tm = m
        tm.tenancy = Tenancy(vcpus: [4], neighbourStressors: [])
        let sched = SimSchedule.build(matrix: tm, threads: 20, seed: 7, targetSamples: 1500)
        var other = sched
        other.segments = other.segments.map { $0.confined(vcpus: 6, neighbourLoad: 0, neighbourStressor: nil) }
        let co = try CoTenancy.generate(profile: p, tenants: [.init(vcpus: 4, schedule: sched, seed: 7), .init(vcpus: 6, schedule: other, seed: 8)], seed: 1)
        for (i, t) in co.enumerated() {
            let path = dir.appendingPathComponent("co\(i).h5").path
            try TraceWriter.write(t, to: path)
            coPaths.append(path)
        }

        var cfg = EvaluationConfig(modelPath: guest.path, dataPaths: [dir.appendingPathComponent("data.h5").path])
        cfg.splits = [.segment]
        cfg.skipSamples = 10
        cfg.wholeHostModelPath = whole.path
        cfg.coTenantPaths = coPaths
        let (report, _) = try Evaluator.run(cfg)
        let g = try #require(report.guestSize)
        #expect(g.hostThreads == 20 && g.split == "segment")
        #expect(Set(g.rows.map(\.vcpus)) == [2, 8])
        for k in [2, 8] {
            let all = try #require(g.rows.first { $0.vcpus == k && $0.neighbourLoad == "all" })
            let parts = g.rows.filter { $0.vcpus == k && $0.neighbourLoad != "all" }
            #expect(all.windows == parts.reduce(0) { $0 + $1.windows })
            #expect(all.wholeHostModel != nil && all.irreducibleRMSE != nil)
            // Interval coverage by group: the row over every load is the window-weighted mean of its parts.
            let weighted = parts.reduce(0.0) { $0 + ($1.intervalCoverage ?? .nan) * Double($1.windows) } / Double(all.windows)
            #expect(abs((all.intervalCoverage ?? .nan) - weighted) < 1e-9)
        }
        // Over every k, the groups' coverage is the split's interval coverage.
        let alls = g.rows.filter { $0.neighbourLoad == "all" }
        let pooled = alls.reduce(0.0) { $0 + ($1.intervalCoverage ?? .nan) * Double($1.windows) } / Double(alls.reduce(0) { $0 + $1.windows })
        #expect(abs(pooled - (report.splits[0].interval?.coverage ?? .nan)) < 1e-9, "\(pooled) vs \(String(describing: report.splits[0].interval))")
        // The whole-host model was given the guest-shaped model's windows: same count as the model row.
        #expect(g.rows.allSatisfy { $0.wholeHostModel?.count == $0.model.count })
        #expect(g.perVcpuMaxWatts.isFinite && g.perVcpuMaxWatts > 0)

        // Co-tenancy: recompute the package mean and the sums from the traces and predictions.
        let c = try #require(g.coTenancy)
        #expect(c.tenants.map(\.vcpus) == [4, 6])
        let model = try ModelFile.load(contentsOf: guest)
        var est = 0.0, pkg = 0.0, n = 0
        let loaded = try coPaths.map { try TraceReader.read($0) }
        let series = try loaded.map { try FeatureSeries(trace: $0, featureSet: .guestShare5) }
        let preds = try series.map { try ModelPredictor(model: model, threads: 1).predict(series: $0) }
        let first = series[0].firstWindowEnd(model.delayEmbedding)
        let package = try PackagePower.series(trace: loaded[0])
        for t in first..<loaded.map(\.sampleCount).min()! {
            pkg += Double(package[t])
            for (i, k) in [4, 6].enumerated() { est += max(p.idleWatts * Double(k) / 20, Double(preds[i][t - first])) }
            n += 1
        }
        #expect(c.samples == n)
        #expect(abs(c.packageMeanWatts - pkg / Double(n)) < 1e-6 && abs(c.estimateSumMeanWatts - est / Double(n)) < 1e-4)
        #expect(abs(c.relativeError - (est / pkg - 1)) < 1e-6)
        // The true shares of guests that do not fill the host sum to less than the package (its own housekeeping).
        #expect(c.truthSumMeanWatts < c.packageMeanWatts && c.truthSumMeanWatts > 0.5 * c.packageMeanWatts)
    }
}

@Suite("Interval scores")
struct IntervalScoreTests {
    @Test("AUROC by ranks equals the pairwise count, ties counting half")
    func auroc() throws {
        var rng = SplitMix64(seed: 4)
        let items: [(width: Double, bad: Bool)] = (0..<300).map { _ in (Double(rng.next() % 20), rng.next() % 3 == 0) }
        var wins = 0.0, pairs = 0.0
        for a in items where a.bad { for b in items where !b.bad { pairs += 1; wins += a.width > b.width ? 1 : (a.width == b.width ? 0.5 : 0) } }
        let got = try #require(IntervalScore.auroc(items))
        #expect(abs(got - wins / pairs) < 1e-12)
        #expect(IntervalScore.auroc([(1, true), (2, true)]) == nil)
    }

    @Test("the coverage curve: exchangeable residuals of two spreads, recalibrated at 50/80/90/95 %, cover each level within 2 points; a shifted test set under-covers and says so")
    func coverageCurve() throws {
        var rng = SplitMix64(seed: 9)
        func normal() -> Double {
            let u1 = Double(rng.next() % 1_000_000 + 1) / 1_000_001, u2 = Double(rng.next() % 1_000_000) / 1_000_000
            return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        }
        // Predictions 0…100 W; the error spreads twice as widely above 50 W (what Mondrian bins follow).
        func draw(_ n: Int, scale: Double = 1) -> (p: [Double], y: [Double]) {
            var p: [Double] = [], y: [Double] = []
            for _ in 0..<n {
                let x = Double(rng.next() % 10_000) / 100
                p.append(x); y.append(x + normal() * (x > 50 ? 2 : 1) * scale)
            }
            return (p, y)
        }
        let cal = draw(20_000), test = draw(20_000)
        let curve = CoveragePoint.curve(calibrationPredicted: cal.p, calibrationMeasured: cal.y, testPredicted: test.p, testMeasured: test.y)
        #expect(curve.map(\.nominal) == CoveragePoint.levels)
        for point in curve { #expect(abs(point.coverage - point.nominal) < 0.02, "\(point)") }
        #expect(zip(curve, curve.dropFirst()).allSatisfy { $0.meanWidthWatts < $1.meanWidthWatts })
        // Errors 1.5× wider at test time (a shift): every level under-covers.
        let shifted = draw(20_000, scale: 1.5)
        let under = CoveragePoint.curve(calibrationPredicted: cal.p, calibrationMeasured: cal.y, testPredicted: shifted.p, testMeasured: shifted.y)
        #expect(under.allSatisfy { $0.coverage < $0.nominal - 0.05 }, "\(under)")
        #expect(CoveragePoint.curve(calibrationPredicted: [1, 2], calibrationMeasured: [1, 2], testPredicted: [1], testMeasured: [1]).isEmpty)
    }
}

@Suite("Trust scores in evaluation")
struct EvalTrustTests {
    @Test("ModelPredictor.trust scores each window as the guest's TrustScorer does on the same raw window")
    func trustMatchesTheScorer() throws {
        var model = try GuestSizeTests.model(guestShaped: false)
        model.trainingStats = TrainingStats(windows: 1000, features: model.features, featureMin: [0, 0, 0, 5], featureMax: [100, 100, 60, 12],
                                            featureQ01: [1, 1, 0, 6], featureQ50: [30, 10, 1, 9], featureQ99: [95, 60, 20, 11])
        let p = try GuestSizeTests.profile()
        var m = GuestSizeTests.matrix()
        m.tenancy = nil
        let trace = try SyntheticGenerator(profile: p, seed: 2).generate(schedule: SimSchedule.build(matrix: m, threads: 20, seed: 2))
        let options = WindowOptions(embedding: model.delayEmbedding, skipSamples: 10)
        let data = try EvalData(traces: [(trace, "t")], featureSet: .decodeRapl4, options: options)
        let ws: [Int32] = [0, 5, Int32(data.windowCount / 2), Int32(data.windowCount - 1)]
        let predictor = try ModelPredictor(model: model)
        let got = try #require(try predictor.trust(dataset: data.dataset, windows: ws))
        let series = try FeatureSeries(trace: trace, featureSet: .decodeRapl4)
        let scorer = TrustScorer(stats: try #require(model.trainingStats))
        for (i, w) in ws.enumerated() {
            var raw = [Float](repeating: 0, count: model.inputSize)
            raw.withUnsafeMutableBufferPointer { series.window(endingAt: Int(data.dataset.windowEnds[Int(w)]), embedding: model.delayEmbedding, into: $0.baseAddress!) }
            let expected = raw.withUnsafeBufferPointer { scorer.score(rawWindow: $0, featureCount: 4, stride: 8, length: 8, latent: nil).score }
            #expect(abs(got[i] - expected) < 1e-12)
        }
        var noStats = model
        noStats.trainingStats = nil
        #expect(try ModelPredictor(model: noStats).trust(dataset: data.dataset, windows: ws) == nil)
    }

    @Test("the OOD check: a perturbed window is scored as the scorer scores the same edited raw window; ctx ×10 beyond the training range and busy above 100 % are flagged, the windows as they are mostly not")
    func oodCheck() throws {
        var model = try GuestSizeTests.model(guestShaped: false)
        let p = try GuestSizeTests.profile()
        var m = GuestSizeTests.matrix()
        m.tenancy = nil
        let trace = try SyntheticGenerator(profile: p, seed: 2).generate(schedule: SimSchedule.build(matrix: m, threads: 20, seed: 2))
        let series = try FeatureSeries(trace: trace, featureSet: .decodeRapl4)
        // Training statistics from the trace itself: its own windows are in distribution.
        func column(_ f: Int) -> [Double] { (1..<series.count).map { Double(series.value(feature: f, at: $0)) }.sorted() }
        let cols = (0..<4).map(column)
        func q(_ c: [Double], _ x: Double) -> Double { c[Int(Double(c.count - 1) * x)] }
        model.trainingStats = TrainingStats(windows: series.count, features: model.features, featureMin: cols.map { $0[0] }, featureMax: cols.map { $0[$0.count - 1] },
                                            featureQ01: cols.map { q($0, 0.01) }, featureQ50: cols.map { q($0, 0.5) }, featureQ99: cols.map { q($0, 0.99) })
        let options = WindowOptions(embedding: model.delayEmbedding, skipSamples: 10)
        let data = try EvalData(traces: [(trace, "t")], featureSet: .decodeRapl4, options: options)
        let ws = (0..<Int32(data.windowCount)).filter { $0 % 7 == 0 }
        let predictor = try ModelPredictor(model: model)
        // The perturbation reaches the scorer as an edited raw window.
        let shift = Float(log(10.0))
        let edited = try #require(try predictor.trust(dataset: data.dataset, windows: [ws[3]], perturb: { w in for j in 0..<8 { w[3 * 8 + j] += shift } }))
        var raw = [Float](repeating: 0, count: model.inputSize)
        raw.withUnsafeMutableBufferPointer { series.window(endingAt: Int(data.dataset.windowEnds[Int(ws[3])]), embedding: model.delayEmbedding, into: $0.baseAddress!) }
        for j in 0..<8 { raw[3 * 8 + j] += shift }
        let scorer = TrustScorer(stats: try #require(model.trainingStats))
        #expect(abs(edited[0] - raw.withUnsafeBufferPointer { scorer.score(rawWindow: $0, featureCount: 4, stride: 8, length: 8, latent: nil).score }) < 1e-12)
        let check = try #require(try OODCheck.make(split: "segment", data: data, windows: ws,
                                                    plain: try predictor.trust(dataset: data.dataset, windows: ws), predictor: predictor))
        #expect(check.windows == ws.count && check.falseAlarmRate < 0.05, "\(check)")
        #expect((check.contextSwitchBeyondRangeDetection ?? 0) > 0.95 && (check.impossibleBusyDetection ?? 0) > 0.95, "\(check)")
        #expect((check.contextSwitchTenfoldDetection ?? 0) > check.falseAlarmRate, "\(check)")
    }
}
