import Foundation
import VraplCore
import VraplDataset
import VraplModel
import VraplTrace

/// What `vrapl evaluate` does, as a library call: load the model and data, score the model under the
/// requested splits and on live traces, fit and score the baselines on the same splits, estimate the
/// feature ceiling, calibrate, and (with `retrain`) measure the generalisation gap and feature
/// ablation by short retrains. `ReportWriter` turns the result into report.md, metrics.json and SVGs.
public struct EvaluationConfig: Sendable {
    public var modelPath: String
    public var dataPaths: [String]
    public var livePaths: [String] = []
    public var splits: [SplitKind] = [.segment]
    /// Seed of the splits and subsamples. nil: the split the model was trained with is drawn with its
    /// own seed (and fractions, stratification) from its provenance, every other one and the
    /// subsamples with 42. Given, it applies to every split.
    public var seed: UInt64? = nil
    /// The seed of the subsamples and of splits the model was not trained with.
    public var subsampleSeed: UInt64 { seed ?? 42 }
    public var threads: Int = 1
    /// First samples of each segment that are never a window's target (as in training).
    public var skipSamples: Int = 100
    public var ceiling = FeatureCeiling.Options()
    /// Short retrains for the generalisation gap and the feature ablation; nil skips both.
    public var retrain: RetrainOptions? = nil
    public var ablation = true
    /// A whole-host model to score beside a guest-shaped one on the same guest-view windows
    /// (`guest_size`): what a DECODE-RAPL checkpoint tells a guest.
    public var wholeHostModelPath: String? = nil
    /// Guest views of one host time line (`vrapl simulate --co-tenants`): `guest_size.co_tenancy`.
    public var coTenantPaths: [String] = []
    /// The family held out by the family split (nil: the one the model was trained without, when its
    /// provenance names one, else a seeded draw).
    public var holdoutFamily: String? = nil
    /// The CPU's TDP for the published TDP curves (`--tdp`, or the simulator profile's), W, and its source.
    public var tdpWatts: Double? = nil
    public var tdpSource: String = "none"

    public init(modelPath: String, dataPaths: [String]) {
        self.modelPath = modelPath; self.dataPaths = dataPaths
    }
}

/// Model facts for the report.
public struct ModelSummary: Codable, Sendable {
    public var name: String
    public var path: String
    public var sha256: String?
    public var architecture: String
    public var features: [String]
    public var d: Int
    public var tau: Int
    public var powerSource: PowerSource
    /// The split the model was trained with (from its `metrics` metadata), when it says.
    public var trainedSplit: SplitKind?

    enum CodingKeys: String, CodingKey {
        case name, path, sha256, architecture, features, d, tau
        case powerSource = "power_source"
        case trainedSplit = "trained_split"
    }
}

public struct DataSummary: Codable, Sendable {
    public var sources: [String]
    public var powerSources: [String]
    public var windows: Int
    public var segments: Int
    public var families: [String: Int]

    enum CodingKeys: String, CodingKey {
        case sources
        case powerSources = "power_sources"
        case windows, segments, families
    }
}

/// The given model and the baselines on one split's test windows.
public struct SplitResult: Codable, Sendable {
    public var split: String
    public var heldOut: [String]
    public var trainWindows: Int
    public var testWindows: Int
    public var model: ScoredSet
    public var baselines: [BaselineScore]
    /// The published curves (CCF, Boavizta, Teads, CodeCarbon, legacy Kepler) on the same windows.
    public var publishedBaselines: [PublishedBaselineScore] = []
    /// Feature ceiling for this test set's family mix (√ of the family-share-weighted T_F), W.
    public var ceilingRMSE: Double?
    /// ceiling² / model MSE: the share of the model's squared error that no predictor of these
    /// features could remove.
    public var ceilingShareOfModelMSE: Double?
    /// True when the model's own training split is not this one (its training windows may be in this test set).
    public var mayIncludeTrainingWindows: Bool
    /// The model's prediction interval on these test windows (nil: the model has none).
    public var interval: IntervalScore? = nil
    /// AUROC of (1 − trust score) for picking test windows with |error| > 5 W (nil without training
    /// statistics, or when every window or none has such an error).
    public var errorAUROCTrust: Double? = nil
    /// Coverage at 50/80/90/95 % nominal, recalibrated on the split's validation windows (nil: none).
    public var coverageCurve: [CoveragePoint]? = nil
    /// Share of test windows the guest's OOD flag raises (trust < 0.5); nil without training statistics.
    public var oodRate: Double? = nil

    enum CodingKeys: String, CodingKey {
        case split
        case heldOut = "held_out"
        case trainWindows = "train_windows"
        case testWindows = "test_windows"
        case model, baselines
        case publishedBaselines = "published_baselines"
        case coverageCurve = "coverage_curve"
        case oodRate = "ood_rate"
        case ceilingRMSE = "ceiling_rmse"
        case ceilingShareOfModelMSE = "ceiling_share_of_model_mse"
        case mayIncludeTrainingWindows = "may_include_training_windows"
        case interval
        case errorAUROCTrust = "error_auroc_trust"
    }
}

public struct CeilingSummary: Codable, Sendable {
    public var result: FeatureCeiling.Result
    /// Simulator only: RMSE of `sim_hidden_w` over the same windows, overall and per family.
    public var hiddenRMSE: Double?
    public var hiddenRMSEByFamily: [String: Double]?
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case result
        case hiddenRMSE = "hidden_rmse"
        case hiddenRMSEByFamily = "hidden_rmse_by_family"
        case seconds
    }
}

public struct EvaluationReport: Codable, Sendable {
    public var format = "vrapl-evaluation"
    /// `sim` when any input or the model's training data is simulated, else `rapl`.
    public var powerSource: String
    public var model: ModelSummary
    public var data: DataSummary
    public var splits: [SplitResult]
    public var live: [ScoredSet]
    public var ceiling: CeilingSummary
    public var calibration: [CalibrationResult]
    public var gap: [GapRow]?
    public var ablation: [AblationRow]?
    /// Guest-view data: error by guest size k and neighbour load (nil otherwise).
    public var guestSize: GuestSizeReport? = nil
    public var notes: [String]
    /// What the OOD flag detects, on the primary split's test windows (nil without training statistics).
    public var ood: OODCheck? = nil

    enum CodingKeys: String, CodingKey {
        case format
        case powerSource = "power_source"
        case model, data, splits, live, ceiling, calibration, gap, ablation, notes, ood
        case guestSize = "guest_size"
    }
}

/// Series kept for the plots (not in metrics.json).
public struct EvaluationSeries: Sendable {
    public struct TimeSeries: Sendable {
        public var title: String
        public var seconds: [Double]
        public var measured: [Double]
        public var predicted: [Double]
    }
    public var primarySplit: String = ""
    public var testMeasured: [Double] = []
    public var testPredicted: [Double] = []
    /// Width of the model's interval at each primary test window (empty without an interval).
    public var testWidths: [Double] = []
    public var timeSeries: [TimeSeries] = []
    public var trainingHistory: (epochs: [Double], trainLoss: [Double], validationLoss: [Double], validationMAE: [Double])? = nil
}

public enum Evaluator {
    /// Runs the evaluation. `log` gets progress lines.
    public static func run(_ config: EvaluationConfig, log: @escaping (String) -> Void = { _ in }) throws -> (EvaluationReport, EvaluationSeries) {
        let model = try ModelFile.load(contentsOf: URL(fileURLWithPath: config.modelPath))
        let predictor = try ModelPredictor(model: model, threads: config.threads)
        let featureSet = try predictor.featureSet()
        let options = WindowOptions(embedding: predictor.embedding, skipSamples: config.skipSamples)
        log("loading \(config.dataPaths.count) trace(s) (features \(featureSet.name), d \(options.embedding.d), tau \(options.embedding.tau))")
        let data = try EvalData.load(paths: config.dataPaths, featureSet: featureSet, options: options, log: log)
        guard data.windowCount > 0 else { throw VraplError("no windows in \(config.dataPaths.joined(separator: " "))") }
        var notes: [String] = []
        var series = EvaluationSeries()

        let trainedSplit = model.trainingMetrics?.split ?? model.trainingProvenance?.split
        let trainedWindows = model.trainingProvenance?.windows?.total
        if let tw = trainedWindows, tw != data.windowCount {
            notes.append("the model was trained on \(tw) windows (a subsample or other data), these data have \(data.windowCount): every split's test set may include its training windows")
        }
        let summary = ModelSummary(name: model.displayName, path: config.modelPath, sha256: model.sha256,
                                   architecture: model.architecture.kind.rawValue, features: model.features,
                                   d: model.embedding.d, tau: model.embedding.tau,
                                   powerSource: model.powerSource, trainedSplit: trainedSplit)
        var families: [String: Int] = [:]
        for w in 0..<data.windowCount { families[data.family(w), default: 0] += 1 }
        let dataSummary = DataSummary(sources: config.dataPaths, powerSources: data.powerSources, windows: data.windowCount,
                                      segments: data.dataset.segments.count, families: families)

        // Feature ceiling over all windows.
        log("feature ceiling over \(data.windowCount) windows")
        let t0 = Date()
        let ceiling = data.featureCeiling(options: config.ceiling)
        let hidden = data.hiddenRMSE()
        let ceilingSummary = CeilingSummary(result: ceiling, hiddenRMSE: hidden?.overall, hiddenRMSEByFamily: hidden?.byFamily,
                                            seconds: Date().timeIntervalSince(t0))

        // The published curves: T from the data, the TDP from --tdp or the simulator profile.
        let publishedContext = PublishedBaselineContext(hostThreads: data.hostThreads ?? 1, tdpWatts: config.tdpWatts, tdpSource: config.tdpSource)
        if config.tdpWatts == nil {
            notes.append("published TDP curves (Teads ratios, CodeCarbon 50 % TDP) not scored: no TDP (pass --tdp W)")
        } else {
            notes.append("published TDP curves use TDP \(String(format: "%g", config.tdpWatts ?? 0)) W (\(config.tdpSource))")
        }
        if data.hostThreads == nil { notes.append("published per-vCPU curves assume T = 1 (the data does not say the host's threads)") }

        // The given model under each split.
        var splitResults: [SplitResult] = []
        var guestSize: GuestSizeReport?
        var ood: OODCheck?
        for kind in config.splits {
            let split: DatasetSplit
            var splitOptions = Self.splitOptions(kind, provenance: model.trainingProvenance, config: config)
            if kind == .family { splitOptions.holdoutFamily = config.holdoutFamily ?? model.trainingProvenance?.heldOutFamily }
            do { split = try DatasetSplit.make(dataset: data.dataset, options: splitOptions) } catch {
                notes.append("split \(kind.rawValue) skipped: \(error)")
                continue
            }
            log("split \(kind.rawValue): scoring \(split.test.count) test windows")
            let pred = try predictor.predict(dataset: data.dataset, windows: split.test)
            let scored = data.score(name: "\(model.displayName) / \(kind.rawValue)", windows: split.test, predicted: pred)
            let baselines = data.baselines(train: split.train, test: split.test)
            let published = data.publishedBaselines(train: split.train, test: split.test, context: publishedContext)
            let ceilingTest = Self.ceilingFor(windows: split.test, data: data, ceiling: ceiling)
            let share = ceilingTest.flatMap { c in scored.overall.rmse > 0 ? (c * c) / (scored.overall.rmse * scored.overall.rmse) : nil }
            let trust = try predictor.trust(dataset: data.dataset, windows: split.test)
            // The coverage curve: the interval method recalibrated at each level on validation windows.
            let testSpreads = try predictor.spreads(dataset: data.dataset, windows: split.test)
            var curve: [CoveragePoint]? = nil
            if !split.validation.isEmpty {
                let validation = try predictor.predict(dataset: data.dataset, windows: split.validation)
                var local: (reference: LocalSpread, calibration: [Double], test: [Double])? = nil
                if let reference = model.interval?.local, let testSpreads,
                   let calibration = try predictor.spreads(dataset: data.dataset, windows: split.validation) {
                    local = (reference, calibration, testSpreads)
                }
                let points = CoveragePoint.curve(calibrationPredicted: validation, calibrationMeasured: data.targets(split.validation),
                                                 testPredicted: pred, testMeasured: data.targets(split.test), local: local)
                curve = points.isEmpty ? nil : points
            }
            splitResults.append(SplitResult(split: kind.rawValue, heldOut: split.heldOut, trainWindows: split.train.count,
                                            testWindows: split.test.count, model: scored, baselines: baselines, publishedBaselines: published,
                                            ceilingRMSE: ceilingTest, ceilingShareOfModelMSE: share,
                                            mayIncludeTrainingWindows: trainedSplit != kind
                                                || (trainedWindows.map { $0 != data.windowCount } ?? false),
                                            interval: IntervalScore(interval: model.interval, predicted: pred, measured: data.targets(split.test),
                                                                    spreads: testSpreads),
                                            errorAUROCTrust: trust.flatMap { trust in
                                                IntervalScore.auroc(zip(zip(trust, pred), data.targets(split.test)).map { (1 - $0.0.0, abs($0.0.1 - $0.1) > IntervalScore.errorThresholdWatts) })
                                            }, coverageCurve: curve, oodRate: trust.map(OODCheck.flaggedShare)))
            // Plots use the first held-out split (segment, family or time) when there is one: a shuffled
            // test set's neighbours were trained on.
            let primary = config.splits.first { $0 != .shuffle } ?? config.splits.first
            if kind == primary {
                series.primarySplit = kind.rawValue
                series.testMeasured = data.targets(split.test)
                series.testPredicted = pred
                ood = try OODCheck.make(split: kind.rawValue, data: data, windows: split.test, plain: trust, predictor: predictor)
                if let interval = model.interval {
                    series.testWidths = pred.enumerated().map { i, p in let b = interval.bounds(p, spread: testSpreads?[i]); return b.high - b.low }
                }
                series.timeSeries += try Self.segmentSeries(data: data, predictor: predictor, test: split.test, count: 4)
                if let shape = model.guestShape, data.dataset.guestView != nil {
                    let wholeHost = try Self.wholeHostPredictions(config, options: options, data: data, test: split.test, notes: &notes, log: log)
                    var covered: [Bool]? = nil
                    if let interval = model.interval {
                        let y = data.targets(split.test)
                        covered = pred.indices.map { i in let b = interval.bounds(pred[i], spread: testSpreads?[i]); return y[i] >= b.low && y[i] <= b.high }
                    }
                    guestSize = GuestSizeReport.make(split: kind.rawValue, data: data, shape: shape, train: split.train, test: split.test,
                                                     predicted: pred, wholeHost: wholeHost, covered: covered)
                }
            }
        }

        // Live traces: each scored whole, in time order; calibration fitted on its first half.
        var live: [ScoredSet] = []
        var calibration: [CalibrationResult] = []
        // A live trace is one continuous sequence, as the guest sees it: every window from the first
        // full one, across segment labels (so bursts after idle are visible).
        let liveOptions = WindowOptions(embedding: options.embedding, skipSamples: 0, crossSegments: true)
        for path in config.livePaths {
            let name = URL(fileURLWithPath: path).lastPathComponent
            let ld = try EvalData.load(paths: [path], featureSet: featureSet, options: liveOptions)
            guard ld.windowCount > 0 else { notes.append("live trace \(name): no windows"); continue }
            let ws = ld.timeOrdered((0..<Int32(ld.windowCount)).map { $0 })
            let pred = try predictor.predict(dataset: ld.dataset, windows: ws)
            var scored = ld.score(name: "live: \(name)", windows: ws, predicted: pred)
            scored.interval = IntervalScore(interval: model.interval, predicted: pred, measured: ld.targets(ws),
                                            spreads: try predictor.spreads(dataset: ld.dataset, windows: ws))
            live.append(scored)
            let y = ld.targets(ws), b = ld.busy(ws)
            for m in CalibrationResult.Method.allCases {
                calibration.append(.run(m, data: "live: \(name)", predicted: pred, measured: y, busyPercent: b))
            }
            let t = ws.map { Double(ld.location(Int($0)).position) * ld.sampleIntervalSeconds }
            series.timeSeries.append(.init(title: "live: \(name)", seconds: t, measured: y, predicted: pred))
        }
        if config.livePaths.isEmpty, let first = splitResults.first, first.split != SplitKind.shuffle.rawValue {
            // No live traces: calibrate on the primary split's test windows in time order instead.
            let kind = SplitKind(rawValue: first.split) ?? .segment
            if let split = try? DatasetSplit.make(dataset: data.dataset, options: Self.splitOptions(kind, provenance: model.trainingProvenance, config: config)) {
                let ws = data.timeOrdered(split.test)
                let pred = try predictor.predict(dataset: data.dataset, windows: ws)
                for m in CalibrationResult.Method.allCases {
                    calibration.append(.run(m, data: "test windows of the \(first.split) split (time order)", predicted: pred,
                                            measured: data.targets(ws), busyPercent: data.busy(ws)))
                }
            }
        }

        // Short retrains: generalisation gap and feature ablation.
        var gap: [GapRow]? = nil
        var ablation: [AblationRow]? = nil
        if let retrain = config.retrain {
            gap = try Retraining.generalisationGap(model: model, data: data, livePaths: config.livePaths, options: retrain,
                                                   ceiling: ceiling, seed: config.subsampleSeed, threads: config.threads, log: log)
            if config.ablation {
                ablation = try Retraining.ablation(model: model, dataPaths: config.dataPaths, skipSamples: config.skipSamples,
                                                   options: retrain, seed: config.subsampleSeed, threads: config.threads, log: log)
            }
        } else {
            notes.append("generalisation gap and feature ablation skipped (no retraining requested)")
        }

        if !config.coTenantPaths.isEmpty {
            if guestSize != nil {
                log("co-tenancy: \(config.coTenantPaths.count) guests of one host")
                guestSize?.coTenancy = try CoTenancyReport.run(model: model, paths: config.coTenantPaths, threads: config.threads)
            } else {
                notes.append("co-tenancy skipped: it needs a guest-shaped model scored on guest-view data")
            }
        }
        series.trainingHistory = Self.history(forModel: config.modelPath)
        let sim = data.powerSourceLabel == "sim" || model.powerSource.isSimulated
        if sim { notes.insert("SIMULATED POWER: every figure here describes `vrapl simulate`'s power model, not a real CPU.", at: 0) }
        if trainedSplit == nil { notes.append("the model does not say which split it was trained with; test windows of any split may include its training windows") }
        let report = EvaluationReport(powerSource: sim ? "sim" : "rapl", model: summary, data: dataSummary, splits: splitResults,
                                      live: live, ceiling: ceilingSummary, calibration: calibration, gap: gap,
                                      ablation: ablation, guestSize: guestSize, notes: notes, ood: ood)
        return (report, series)
    }

    /// The whole-host model's predictions for `test` windows of `data` (matched by window end), or nil
    /// (with a note) when there is none or its windows do not cover these.
    static func wholeHostPredictions(_ config: EvaluationConfig, options: WindowOptions, data: EvalData, test: [Int32],
                                     notes: inout [String], log: (String) -> Void) throws -> (name: String, predicted: [Double])? {
        guard let path = config.wholeHostModelPath else { return nil }
        let other = try ModelFile.load(contentsOf: URL(fileURLWithPath: path))
        if other.guestShape != nil { throw VraplError("\(path): --whole-host-model must be a whole-host model, but this one is guest-shaped") }
        let predictor = try ModelPredictor(model: other, threads: config.threads)
        let otherOptions = WindowOptions(embedding: predictor.embedding, skipSamples: config.skipSamples)
        log("whole-host model \(other.displayName) on the same windows")
        let otherData = try EvalData.load(paths: config.dataPaths, featureSet: try predictor.featureSet(), options: otherOptions)
        var byEnd: [Int32: Int32] = [:]
        for w in 0..<otherData.windowCount { byEnd[otherData.dataset.windowEnds[w]] = Int32(w) }
        let matched = test.compactMap { byEnd[data.dataset.windowEnds[Int($0)]] }
        guard matched.count == test.count else {
            notes.append("whole-host model \(other.displayName): its windows (d \(other.embedding.d), τ \(other.embedding.tau)) do not cover the test windows; not scored")
            return nil
        }
        return (other.displayName, try predictor.predict(dataset: otherData.dataset, windows: matched))
    }

    /// √(Σ_F n_F · T_F / n) over the families of `windows`, from the per-family ceiling.
    /// How `kind` is drawn: the split the model was trained with as its training drew it (seed,
    /// fractions, design stratification from the provenance; `--seed` overrides the seed), so its test
    /// windows and calibration are the training run's, window for window; any other split with
    /// `config.subsampleSeed` and the default fractions.
    static func splitOptions(_ kind: SplitKind, provenance: TrainingProvenance?, config: EvaluationConfig) -> SplitOptions {
        var options = SplitOptions(kind: kind, seed: config.subsampleSeed)
        guard let provenance, provenance.split == kind else { return options }
        options.seed = config.seed ?? provenance.seed ?? options.seed
        options.validationFraction = provenance.validationFraction ?? options.validationFraction
        options.testFraction = provenance.testFraction ?? options.testFraction
        options.stratifyByDesign = kind == .segment && provenance.stratify == "design"
        return options
    }

    static func ceilingFor(windows: [Int32], data: EvalData, ceiling: FeatureCeiling.Result) -> Double? {
        var n = 0.0, s = 0.0
        for w in windows {
            guard let e = ceiling.byFamily[data.family(Int(w))], e.rmse.isFinite else { continue }
            s += e.rmse * e.rmse; n += 1
        }
        return n > 0 ? (s / n).squareRoot() : nil
    }

    /// Up to `count` test segments (longest first, distinct families first), all of their windows predicted.
    static func segmentSeries(data: EvalData, predictor: ModelPredictor, test: [Int32], count: Int) throws -> [EvaluationSeries.TimeSeries] {
        var bySegment: [Int32: [Int32]] = [:]
        for w in test { bySegment[data.dataset.windowSegments[Int(w)], default: []].append(w) }
        let ranked = bySegment.keys.sorted { (bySegment[$0]?.count ?? 0) > (bySegment[$1]?.count ?? 0) }
        var chosen: [Int32] = [], seenFamilies = Set<String>()
        for s in ranked where chosen.count < count && seenFamilies.insert(data.dataset.segments[Int(s)].family).inserted { chosen.append(s) }
        for s in ranked where chosen.count < count && !chosen.contains(s) { chosen.append(s) }
        var all: [Int32: [Int32]] = [:]
        for w in 0..<data.windowCount { let s = data.dataset.windowSegments[w]; if chosen.contains(s) { all[s, default: []].append(Int32(w)) } }
        return try chosen.map { s in
            let ws = data.timeOrdered(all[s] ?? [])
            let pred = try predictor.predict(dataset: data.dataset, windows: ws)
            let seg = data.dataset.segments[Int(s)]
            let t0 = Double(data.location(Int(ws.first ?? 0)).position)
            return .init(title: "\(seg.name) (\(seg.family))", seconds: ws.map { (Double(data.location(Int($0)).position) - t0) * data.sampleIntervalSeconds },
                         measured: data.targets(ws), predicted: pred)
        }
    }

    /// Training curve from `NAME.history.json` beside the model (written by `vrapl train`).
    static func history(forModel path: String) -> (epochs: [Double], trainLoss: [Double], validationLoss: [Double], validationMAE: [Double])? {
        let url = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("history.json")
        guard let data = try? Data(contentsOf: url),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let epochs = obj["epochs"] as? [[String: Any]], !epochs.isEmpty else { return nil }
        func num(_ v: Any?) -> Double { (v as? NSNumber)?.doubleValue ?? .nan }
        return (epochs.map { num($0["epoch"]) + 1 }, epochs.map { num($0["train_loss"]) },
                epochs.map { num(($0["validation"] as? [String: Any])?["loss"]) },
                epochs.map { num(($0["validation"] as? [String: Any])?["mae"]) })
    }
}
