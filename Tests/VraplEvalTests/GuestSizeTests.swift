import Foundation
import Testing
import VraplCore
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
                          tensors: try Trainer.tensors(of: net))
        if guestShaped {
            let p = try profile()
            m.guestShape = GuestShape(host: HostShape(threads: 20, cpuModel: p.cpuModel, idleWatts: p.idleWatts), vcpus: 1...20, rule: .idleByAllocation)
        }
        return m
    }

    @Test func groupsByGuestSizeAndSumsCoTenants() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vrapl-gs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = try Self.profile(), m = Self.matrix()
        let trace = try SyntheticGenerator(profile: p, seed: 4).generate(
            schedule: SimSchedule.build(matrix: m, threads: 20, seed: 4), tenancy: m.tenancy)
        try TraceWriter.write(trace, to: dir.appendingPathComponent("data.h5").path)
        let guest = dir.appendingPathComponent("g.safetensors"), whole = dir.appendingPathComponent("w.safetensors")
        try Self.model(guestShaped: true).write(to: guest)
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
        }
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
        let preds = try series.map { try SeriesPredictor.predict(model: model, series: $0, threads: 1) }
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
}
