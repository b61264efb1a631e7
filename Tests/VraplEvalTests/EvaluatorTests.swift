import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
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

/// `vrapl evaluate` end to end on a small simulated campaign with an untrained (seeded) v4.1 model:
/// the pipeline, the report files and the `sim` labelling — not accuracy.
@Suite("Eval evaluator end to end")
struct EvaluatorTests {
    static func trace(seed: UInt64) throws -> TraceData {
        let profile = try SimProfile.load(SimCeilingTests.root.appendingPathComponent("configs/sim/xeon-silver-4210r.yaml").path)
        var matrix = CampaignMatrix(name: "eval-e2e", stressors: ["cpu", "io", "vm"], levels: [:], duration: 2, cooldown: 0.5)
        for s in matrix.stressors { matrix.levels[s] = [1.0] }
        matrix.repeats = 3
        matrix.synthetic.idleSegments = 2
        matrix.synthetic.idleDuration = 3
        matrix.synthetic.burstCount = 3
        return try SyntheticGenerator(profile: profile, seed: seed).generate(schedule: SimSchedule.build(matrix: matrix, threads: profile.threads, seed: seed))
    }

    static func model() throws -> ModelFile {
        let arch = Architecture.cnnV41()
        let net = try Network(architecture: arch, maxBatch: 8)
        net.initialize(seed: 3)
        return ModelFile(architecture: arch, features: FeatureSet.decodeRapl4.featureNames,
                         embedding: Embedding(d: 25, tau: 1, sampleIntervalMs: 16),
                         normalization: Normalization(featureMin: [Double](repeating: 0, count: 100), featureRange: [Double](repeating: 50, count: 100)),
                         powerSource: .simulated(profile: "xeon-silver-4210r"),
                         metrics: try MetricsSummary(split: .segment, bestEpoch: 1, epochsRun: 1, validation: .empty(), test: .empty(),
                                                     powerSource: .simulated(profile: "xeon-silver-4210r")).json(),
                         tensors: try ModelFile.tensors(from: net))
    }

    @Test func writesReportAndDatasetAndSeriesPathsAgree() throws {
        let dir = try Scratch.directory()
        let data = try Self.trace(seed: 5), live = try Self.trace(seed: 6)
        try TraceWriter.write(data, to: dir.appendingPathComponent("data.h5").path)
        try TraceWriter.write(live, to: dir.appendingPathComponent("live.h5").path)
        let modelURL = dir.appendingPathComponent("m.safetensors")
        var model = try Self.model()
        // A normalized interval (its reference set: feature means of a few windows of the data).
        let refSeries = try FeatureSeries(trace: data, featureSet: .decodeRapl4)
        let refMeans: [[Float]] = stride(from: 30, to: refSeries.count, by: 7).map { t in (0..<4).map { refSeries.value(feature: $0, at: t) } }
        let reference = try #require(LocalSpread(means: refMeans, targets: refMeans.map { $0[0] * 0.4 + 20 }, k: 16))
        model.interval = PredictionInterval(nominal: 0.8, method: PredictionInterval.normalizedMethod, edges: [], low: [-0.8], high: [0.9],
                                            calibrationWindows: 500)
        model.interval?.local = reference
        model.interval?.epsilonWatts = 1
        try model.write(to: modelURL)

        // The dataset path (window views) and the series path (windows rebuilt from a FeatureSeries) of ModelPredictor agree.
        let loaded = try ModelFile.load(contentsOf: modelURL)
        let predictor = try ModelPredictor(model: loaded)
        let options = WindowOptions(embedding: DelayEmbedding(d: 25, tau: 1), skipSamples: 30)
        let eval = try EvalData(traces: [(data, "data")], featureSet: .decodeRapl4, options: options)
        let ws: [Int32] = [0, 7, Int32(eval.windowCount / 2), Int32(eval.windowCount - 1)]
        let mine = try predictor.predict(dataset: eval.dataset, windows: ws)
        let series = try FeatureSeries(trace: data, featureSet: .decodeRapl4)
        let theirs = try ModelPredictor(model: loaded, threads: 1).predict(series: series)
        let first = series.firstWindowEnd(DelayEmbedding(d: 25, tau: 1))
        for (w, p) in zip(ws, mine) {
            let q = Double(theirs[eval.location(Int(w)).position - first])
            #expect(abs(p - q) <= 1e-4 * max(1, abs(q)), "window \(w): \(p) vs \(q)")
        }

        var cfg = EvaluationConfig(modelPath: modelURL.path, dataPaths: [dir.appendingPathComponent("data.h5").path])
        cfg.livePaths = [dir.appendingPathComponent("live.h5").path]
        cfg.splits = [.segment, .shuffle]
        cfg.skipSamples = 30
        cfg.ceiling.maxQueriesPerFamily = 200
        let (report, plots) = try Evaluator.run(cfg)
        let out = dir.appendingPathComponent("report").path
        try ReportWriter.write(report, series: plots, to: out, commandLine: "vrapl evaluate (test)")

        #expect(report.powerSource == "sim")
        #expect(report.splits.map(\.split) == ["segment", "shuffle"])
        #expect(report.splits[0].mayIncludeTrainingWindows == false && report.splits[1].mayIncludeTrainingWindows == true)
        for s in report.splits {
            #expect(s.baselines.map(\.baseline.kind) == BaselineKind.allCases)
            // No TDP given and none in the fixture profile: the TDP curves are left out, and said so.
            #expect(s.publishedBaselines.map(\.baseline.kind) == [.ccfAWS, .boavizta, .keplerLegacy])
            #expect(s.model.overall.count == s.testWindows && s.testWindows > 0)
        }
        #expect(report.live.count == 1 && report.calibration.count == 2)
        // The live trace's interval, recomputed through the other prediction path and the raw-window spread.
        let liveInterval = try #require(report.live[0].interval)
        let liveSeries = try FeatureSeries(trace: live, featureSet: .decodeRapl4)
        let livePredictions = try ModelPredictor(model: loaded, threads: 1).predict(series: liveSeries)
        let livePower = try TargetPower.series(trace: live)
        let index = reference.makeIndex()
        let liveFirst = liveSeries.firstWindowEnd(DelayEmbedding(d: 25, tau: 1))
        var inside = 0, counted = 0
        var raw = [Float](repeating: 0, count: 100)
        for (i, p) in livePredictions.enumerated() where livePower[liveFirst + i].isFinite {
            raw.withUnsafeMutableBufferPointer { liveSeries.window(endingAt: liveFirst + i, embedding: DelayEmbedding(d: 25, tau: 1), into: $0.baseAddress!) }
            let a = raw.withUnsafeBufferPointer { index.spread(rawWindow: $0, length: 25) }
            let b = try #require(loaded.interval).bounds(Double(p), spread: a)
            let y = Double(livePower[liveFirst + i])
            if y >= b.low && y <= b.high { inside += 1 }
            counted += 1
        }
        #expect(counted == report.live[0].windows)
        #expect(abs(liveInterval.coverage - Double(inside) / Double(counted)) < 2e-3, "\(liveInterval.coverage) vs \(Double(inside) / Double(counted))")
        #expect(report.ceiling.hiddenRMSE != nil && report.ceiling.result.overall.rmse.isFinite)
        #expect(Set(report.data.families.keys).isSuperset(of: ["cpu", "io", "vm", "idle"]))

        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(md.contains("SIMULATED POWER"))
        #expect(md.contains("## Feature ceiling") && md.contains("per-family oracle linear"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as? [String: Any]
        #expect(json?["power_source"] as? String == "sim")
        for svg in ["scatter.svg", "residuals.svg", "busy-bins.svg", "baselines.svg", "timeseries-1.svg"] {
            let text = try String(contentsOfFile: out + "/" + svg, encoding: .utf8)
            #expect(XMLParser(data: Data(text.utf8)).parse(), "\(svg) is not well-formed")
            #expect(text.contains("power source: sim"))
            #expect(md.contains("(\(svg))"))
        }
        let table = ReportWriter.summaryTable(report)
        #expect(table.contains("[power source: sim]"))
        #expect(table.contains("segment (ccf-aws)") && table.contains("segment (boavizta)") && table.contains("segment (kepler-legacy)"))
        #expect(report.notes.contains { $0.contains("not scored: no TDP") })
        #expect(md.contains("CCF AWS 0.74-3.5 W/vCPU (published)"))
        #expect((json?["splits"] as? [[String: Any]])?.first?["published_baselines"] != nil)
        // The split the model was trained with is scored plainly; another split is marked as flattering.
        #expect(table.contains("segment (model) "))
        #expect(table.contains("shuffle (model *)"))
        #expect(table.contains("* the given model was trained with another split"))
    }
}

/// `vrapl evaluate` draws the split a model was trained with as its training did, so the figures
/// it reports for that split are on the training run's test windows, not on another seed's.
@Suite("Eval split of the model's own training")
struct EvaluationSplitTests {
    static let provenance = TrainingProvenance(split: .segment, seed: 13, stratify: "design",
                                               validationFraction: 0.2, testFraction: 0.15)

    @Test("the model's own split takes seed, fractions and stratification from its provenance; --seed overrides only the seed")
    func ownSplit() {
        let config = EvaluationConfig(modelPath: "m.safetensors", dataPaths: [])
        let own = Evaluator.splitOptions(.segment, provenance: Self.provenance, config: config)
        #expect(own == SplitOptions(kind: .segment, seed: 13, validationFraction: 0.2, testFraction: 0.15, stratifyByDesign: true))
        var seeded = config
        seeded.seed = 5
        let overridden = Evaluator.splitOptions(.segment, provenance: Self.provenance, config: seeded)
        #expect(overridden == SplitOptions(kind: .segment, seed: 5, validationFraction: 0.2, testFraction: 0.15, stratifyByDesign: true))
    }

    @Test("other splits, and models without provenance or trained before fractions were recorded, keep seed 42 and the default fractions")
    func otherSplits() {
        let config = EvaluationConfig(modelPath: "m.safetensors", dataPaths: [])
        #expect(Evaluator.splitOptions(.time, provenance: Self.provenance, config: config) == SplitOptions(kind: .time, seed: 42))
        #expect(Evaluator.splitOptions(.segment, provenance: nil, config: config) == SplitOptions(kind: .segment, seed: 42))
        let older = TrainingProvenance(split: .segment, seed: 7)
        #expect(Evaluator.splitOptions(.segment, provenance: older, config: config) == SplitOptions(kind: .segment, seed: 7))
    }

    @Test("the fractions round-trip through the provenance JSON under their snake-case names")
    func provenanceJSON() throws {
        let json = try Self.provenance.json()
        #expect(json.contains("\"validation_fraction\":0.2") && json.contains("\"test_fraction\":0.15"))
        let decoded = try JSONDecoder().decode(TrainingProvenance.self, from: Data(json.utf8))
        #expect(decoded == Self.provenance)
    }
}
