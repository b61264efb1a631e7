import Foundation
import VraplCore
import VraplModel
import VraplReport

/// Writes an evaluation as `DIR/report.md`, `DIR/metrics.json` and SVG plots (VraplReport.SVGPlot).
public enum ReportWriter {
    static func f(_ v: Double?, _ digits: Int = 2) -> String { ReportNumber.fixed(v, digits) }
    static func pct(_ v: Double?) -> String { ReportNumber.percent(v) }

    /// The summary table printed by `vrapl evaluate` and at the top of the report.
    public static func summaryTable(_ r: EvaluationReport) -> String {
        var rows: [[String]] = [["set", "windows", "MAE W", "RMSE W", "R²", "MAPE %", "bias W", "idle bias W", "ceiling W"]]
        for s in r.splits {
            rows.append(["\(s.split) (model\(s.mayIncludeTrainingWindows ? " *" : ""))", "\(s.testWindows)", f(s.model.overall.mae), f(s.model.overall.rmse), f(s.model.overall.r2, 3),
                         f(s.model.overall.mape, 1), f(s.model.overall.meanBias), f(s.model.idleBias.metrics.count > 0 ? s.model.idleBias.metrics.meanBias : nil),
                         f(s.ceilingRMSE)])
            if let lin = s.baselines.first(where: { $0.baseline.kind == .linear }) {
                rows.append(["\(s.split) (linear baseline)", "\(s.testWindows)", f(lin.test.mae), f(lin.test.rmse), f(lin.test.r2, 3),
                             f(lin.test.mape, 1), f(lin.test.meanBias), f(lin.idleBias.count > 0 ? lin.idleBias.meanBias : nil), ""])
            }
            for b in s.publishedBaselines {
                rows.append(["\(s.split) (\(b.baseline.kind.rawValue))", "\(s.testWindows)", f(b.test.mae), f(b.test.rmse), f(b.test.r2, 3),
                             f(b.test.mape, 1), f(b.test.meanBias), f(b.idleBias.count > 0 ? b.idleBias.meanBias : nil), ""])
            }
        }
        for g in r.gap ?? [] {
            rows.append(["gap: \(g.split) (retrained)", "\(g.testWindows)", f(g.model.mae), f(g.model.rmse), f(g.model.r2, 3),
                         f(g.model.mape, 1), f(g.model.meanBias), f(g.idleBias), f(g.ceilingRMSE)])
        }
        for l in r.live {
            rows.append([l.name, "\(l.windows)", f(l.overall.mae), f(l.overall.rmse), f(l.overall.r2, 3), f(l.overall.mape, 1),
                         f(l.overall.meanBias), f(l.idleBias.metrics.count > 0 ? l.idleBias.metrics.meanBias : nil), ""])
        }
        rows.append(["feature ceiling (all windows)", "\(r.data.windows)", "", f(r.ceiling.result.overall.rmse), "", "", "", "", f(r.ceiling.result.overall.rmse)])
        if let h = r.ceiling.hiddenRMSE { rows.append(["sim_hidden_w (true ceiling)", "\(r.data.windows)", "", f(h), "", "", "", "", f(h)]) }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        let footnote = r.splits.contains(where: \.mayIncludeTrainingWindows)
            ? "* the given model was trained with another split, or does not say which: these test windows may include its"
              + " training windows, so the row may flatter it; the 'gap:' rows retrain under each split and are the honest comparison\n"
            : ""
        return rows.map { row in
            row.enumerated().map { c, v in c == 0 ? v.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                                              : String(repeating: " ", count: widths[c] - v.count) + v }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n" + footnote + "[power source: \(r.powerSource)]\n"
    }

    static func mdTable(_ header: [String], _ rows: [[String]], align: String = "---:") -> String {
        MarkdownTable.render(header, rows, align: align)
    }

    public static func write(_ r: EvaluationReport, series: EvaluationSeries, to dir: String, commandLine: String) throws {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw VraplError("cannot create output directory \(dir): \(error.localizedDescription)")
        }
        // metrics.json
        try ReportJSON.write(r, to: dir + "/metrics.json", what: "evaluation metrics")
        let tag = r.powerSource == "sim" ? " [sim]" : ""
        var plots: [(file: String, caption: String)] = []
        func save(_ plot: SVGPlot, _ file: String, _ caption: String) throws {
            var p = plot
            p.subtitle = "model \(r.model.name) · power source: \(r.powerSource)"
            try p.write(to: dir + "/" + file)
            plots.append((file, caption))
        }

        // Plots.
        for (i, ts) in series.timeSeries.enumerated() {
            try save(.line(title: "Predicted vs measured: \(ts.title)\(tag)", xLabel: "time (s)", yLabel: "package power (W)",
                           series: [.init(name: "measured", x: ts.seconds, y: ts.measured, color: "#333333"),
                                    .init(name: "predicted", x: ts.seconds, y: ts.predicted, color: "#d62728")]),
                     "timeseries-\(i + 1).svg", "Predicted against measured over time: \(ts.title)"
                        + (ts.title.hasPrefix("live:") ? "" : " (a \(series.primarySplit)-split test segment, all its windows)"))
        }
        if !series.testMeasured.isEmpty {
            try save(.scatter(title: "Predicted vs measured, \(series.primarySplit) test windows\(tag)", xLabel: "measured (W)",
                              yLabel: "predicted (W)", x: series.testMeasured, y: series.testPredicted),
                     "scatter.svg", "Scatter of the \(series.primarySplit) split's test windows with the identity line")
            let residuals = zip(series.testPredicted, series.testMeasured).map { $0 - $1 }
            try save(.histogram(title: "Residuals (predicted − measured), \(series.primarySplit) test\(tag)", xLabel: "W", values: residuals, bins: 50),
                     "residuals.svg", "Residual histogram")
        }
        if let s = r.splits.first(where: { $0.split == series.primarySplit }) ?? r.splits.first {
            let cats = s.model.busyBins.map { "\(Int($0.lowerPercent))–\(Int($0.upperPercent))" }
            try save(.bars(title: "Error by busy CPU, \(s.split) test\(tag)", xLabel: "busy CPU (%)", yLabel: "W", categories: cats,
                           series: [("MAE", s.model.busyBins.map { $0.metrics.count > 0 ? $0.metrics.mae : .nan }),
                                    ("mean bias", s.model.busyBins.map { $0.metrics.count > 0 ? $0.metrics.meanBias : .nan })]),
                     "busy-bins.svg", "Model error by busy-CPU bin")
        }
        if !r.splits.isEmpty {
            let publishedKinds = PublishedBaselineKind.allCases.filter { k in r.splits.contains { $0.publishedBaselines.contains { $0.baseline.kind == k } } }
            var cats = ["model"] + BaselineKind.allCases.map(\.rawValue) + publishedKinds.map(\.rawValue)
            cats.append("ceiling")
            let seriesRows: [(name: String, values: [Double])] = r.splits.map { s in
                (s.split, [s.model.overall.rmse] + BaselineKind.allCases.map { k in s.baselines.first { $0.baseline.kind == k }?.test.rmse ?? .nan }
                    + publishedKinds.map { k in s.publishedBaselines.first { $0.baseline.kind == k }?.test.rmse ?? .nan } + [s.ceilingRMSE ?? .nan])
            }
            try save(.bars(title: "Test RMSE: model, baselines and feature ceiling\(tag)", xLabel: "predictor", yLabel: "RMSE (W)",
                           categories: cats, series: seriesRows), "baselines.svg", "Model against the baselines and the ceiling, per split")
        }
        if let gap = r.gap, !gap.isEmpty {
            try save(.bars(title: "Generalisation gap (retrained per split)\(tag)", xLabel: "split", yLabel: "test RMSE (W)",
                           categories: gap.map(\.split),
                           series: [("model", gap.map(\.model.rmse)), ("linear baseline", gap.map(\.linearBaseline.rmse)),
                                    ("ceiling", gap.map { $0.ceilingRMSE ?? .nan })]),
                     "gap.svg", "The same model family trained and scored under each split")
        }
        if let g = r.guestSize {
            let all = g.rows.filter { $0.neighbourLoad == "all" }
            let ks = all.map { Double($0.vcpus) }
            var lines: [SVGPlot.Series] = [.init(name: "guest-shaped model MAE", x: ks, y: all.map(\.model.mae), color: "#d62728"),
                                           .init(name: "per-vCPU CCF MAE", x: ks, y: all.map(\.perVcpuBaseline.mae), color: "#1f77b4")]
            if all.contains(where: { $0.wholeHostModel != nil }) {
                lines.append(.init(name: "whole-host model MAE", x: ks, y: all.map { $0.wholeHostModel?.mae ?? .nan }, color: "#7f7f7f"))
            }
            if all.contains(where: { $0.irreducibleRMSE != nil }) {
                lines.append(.init(name: "irreducible (sim_hidden_w RMSE)", x: ks, y: all.map { $0.irreducibleRMSE ?? .nan }, color: "#333333", dashed: true))
            }
            var p = SVGPlot.line(title: "Error by guest size k of \(g.hostThreads) threads, \(g.split) test\(tag)", xLabel: "guest vCPUs k",
                                 yLabel: "W", series: lines)
            p.yIncludesZero = true
            try save(p, "guest-size.svg", "Error against guest size k (every neighbour load)")
        }
        let curves = r.splits.compactMap { s in s.coverageCurve.map { (s.split, $0) } }
        if !curves.isEmpty {
            var lines = [SVGPlot.Series(name: "nominal (ideal)", x: [0.5, 0.95], y: [0.5, 0.95], color: "#333333", dashed: true)]
            for (i, c) in curves.enumerated() {
                lines.append(.init(name: c.0, x: c.1.map(\.nominal), y: c.1.map(\.coverage), color: SVGPlot.palette[i % SVGPlot.palette.count]))
            }
            try save(.line(title: "Interval coverage: nominal vs empirical, test windows\(tag)", xLabel: "nominal coverage",
                           yLabel: "empirical coverage", series: lines),
                     "coverage.svg", "Nominal against empirical coverage of the recalibrated interval at 50, 80, 90 and 95 %, per split")
        }
        if !series.testWidths.isEmpty {
            try save(.scatter(title: "Absolute error against interval width, \(series.primarySplit) test windows\(tag)", xLabel: "interval width (W)",
                              yLabel: "|predicted − measured| (W)", x: series.testWidths,
                              y: zip(series.testPredicted, series.testMeasured).map { abs($0 - $1) }, name: "windows", identityLine: false),
                     "error-vs-width.svg", "Absolute error against the width of the model's interval: a useful width grows with the error")
        }
        if let h = series.trainingHistory {
            var p = SVGPlot.line(title: "Training curve of \(r.model.name)\(tag)", xLabel: "epoch", yLabel: "loss / MAE (W)",
                                 series: [.init(name: "train loss", x: h.epochs, y: h.trainLoss),
                                          .init(name: "validation loss", x: h.epochs, y: h.validationLoss),
                                          .init(name: "validation MAE (W)", x: h.epochs, y: h.validationMAE, dashed: true)])
            p.yIncludesZero = true
            try save(p, "training.svg", "Training history stored beside the model")
        }

        // report.md
        var md = "# vrapl evaluation: \(r.model.name)\n\n"
        if r.powerSource == "sim" {
            md += "> **SIMULATED POWER (`sim`).** The measured power in these data comes from `vrapl simulate`, not from a RAPL meter.\n"
            md += "> Every number below describes the simulator's power model, not a real CPU.\n\n"
        }
        md += "Command: `\(commandLine)`\n\n"
        md += mdTable(["", ""], [
            ["model", "`\(r.model.path)` (\(r.model.architecture), features \(r.model.features.joined(separator: ", ")), d \(r.model.d), τ \(r.model.tau))"],
            ["model trained on", "`\(r.model.powerSource)`, split `\(r.model.trainedSplit?.rawValue ?? "unknown")`"],
            ["data", "\(r.data.sources.count) trace(s), \(r.data.windows) windows, \(r.data.segments) segments, power `\(r.data.powerSources.joined(separator: ", "))`"],
            ["families", r.data.families.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")],
        ], align: "---")
        md += "\n## Summary\n\n```\n" + summaryTable(r) + "```\n\n"
        for n in r.notes { md += "- \(n)\n" }
        if !r.notes.isEmpty { md += "\n" }

        md += "## Model and baselines per split\n\n"
        md += "Baselines are fitted on the same split's training windows (busy CPU u = window mean of the busy percentages / 100). "
        md += "CCF's min and max are the mean training power at u < 5 % and u > 90 % (a least-squares fit of that form is the linear baseline); "
        md += "CodeCarbon's TDP is the least-squares scale of 0.1 + 0.9·u³; the family oracle fits a line per workload family "
        md += "(families absent from training are fitted in sample, an optimistic bound). "
        md += "Rows marked (published) use the tools' own published coefficients, nothing fitted except legacy Kepler's line on CPU time, "
        md += "scaled to a guest of k of the host's T threads by k/T (formulas and sources: docs/evaluation.md \"Published baselines\").\n\n"
        for s in r.splits {
            md += "### \(s.split) split\(s.heldOut.isEmpty ? "" : " (held out: \(s.heldOut.prefix(6).joined(separator: ", "))\(s.heldOut.count > 6 ? ", …" : ""))")\n\n"
            if let i = s.interval {
                let gap = i.coverage - i.nominal
                md += "Prediction interval (nominal \(f(i.nominal * 100, 0)) %): empirical coverage **\(f(i.coverage * 100, 1)) %**"
                md += gap < -0.02 ? " (under-covers by \(f(-gap * 100, 1)) points)" : ""
                md += ", mean width \(f(i.meanWidthWatts)) W, AUROC of the width for |error| > 5 W \(f(i.errorAUROCWidth, 3))"
                md += s.errorAUROCTrust.map { ", of (1 − trust) \(f($0, 3))" } ?? ""
                md += ".\n\n"
            } else if let t = s.errorAUROCTrust {
                md += "AUROC of (1 − trust) for |error| > 5 W: \(f(t, 3)) (the model has no prediction interval).\n\n"
            }
            if let rate = s.oodRate {
                md += "The guest's OOD flag (trust < 0.5) is raised on \(f(rate * 100, 2)) % of these test windows.\n\n"
            }
            if let curve = s.coverageCurve {
                md += "Coverage at other levels (the interval method recalibrated on this split's validation windows, scored on its test windows): "
                md += curve.map { p in
                    let gap = p.coverage - p.nominal
                    return "\(f(p.nominal * 100, 0)) % → \(f(p.coverage * 100, 1)) %" + (gap < -0.02 ? " (short by \(f(-gap * 100, 1)))" : "") + ", \(f(p.meanWidthWatts)) W wide"
                }.joined(separator: "; ") + " (coverage.svg).\n\n"
            }
            md += "\(s.trainWindows) training, \(s.testWindows) test windows."
            if s.mayIncludeTrainingWindows { md += " The model was not trained with this split, so its training windows may be among these test windows." }
            md += "\n\n"
            var rows = [["**model**", f(s.model.overall.mae), f(s.model.overall.rmse), f(s.model.overall.r2, 3), f(s.model.overall.mape, 1),
                         f(s.model.overall.meanBias), f(s.model.idleBias.metrics.count > 0 ? s.model.idleBias.metrics.meanBias : nil)]]
            for b in s.baselines {
                rows.append([b.title, f(b.test.mae), f(b.test.rmse), f(b.test.r2, 3), f(b.test.mape, 1), f(b.test.meanBias),
                             f(b.idleBias.count > 0 ? b.idleBias.meanBias : nil)])
            }
            for b in s.publishedBaselines {
                rows.append([b.title + " (published)", f(b.test.mae), f(b.test.rmse), f(b.test.r2, 3), f(b.test.mape, 1), f(b.test.meanBias),
                             f(b.idleBias.count > 0 ? b.idleBias.meanBias : nil)])
            }
            rows.append(["feature ceiling", "", f(s.ceilingRMSE), "", "", "", ""])
            md += mdTable(["predictor", "MAE W", "RMSE W", "R²", "MAPE %", "bias W", "idle bias W"], rows)
            md += "\nThe ceiling accounts for \(pct(s.ceilingShareOfModelMSE)) of the model's mean squared error on this test set.\n\n"
            md += "Per family:\n\n"
            md += mdTable(["family", "windows", "MAE W", "RMSE W", "R²", "bias W", "ceiling W"],
                          s.model.byFamily.sorted { $0.key < $1.key }.map { k, m in
                              [k, "\(m.count)", f(m.mae), f(m.rmse), f(m.r2, 3), f(m.meanBias), f(r.ceiling.result.byFamily[k]?.rmse)] })
            let worst = s.model.bySegment.sorted { $0.value.rmse > $1.value.rmse }.prefix(12)
            md += "\nWorst segments by RMSE (of \(s.model.bySegment.count)):\n\n"
            md += mdTable(["segment", "windows", "MAE W", "RMSE W", "bias W"], worst.map { [$0.key, "\($0.value.count)", f($0.value.mae), f($0.value.rmse), f($0.value.meanBias)] })
            let b = s.model.burst
            md += "\nIdle bias (busy CPU < \(f(s.model.idleBias.thresholdPercent, 0)) %, \(s.model.idleBias.metrics.count) windows): "
            md += "mean \(f(s.model.idleBias.metrics.meanBias)) W, MAE \(f(s.model.idleBias.metrics.mae)) W.\n\n"
            md += "Burst over-reaction (\(b.burstCount) bursts of ≤ \(f(b.parameters.maxBurstSeconds, 0)) s after ≥ \(f(b.parameters.idleLeadSeconds, 0)) s idle, "
            md += "first \(f(b.parameters.responseSeconds, 0)) s): mean error \(f(b.meanSignedError)) W, MAE \(f(b.responseMAE)) W, "
            md += "mean peak overshoot \(f(b.meanPeakOvershoot)) W; rest of the bursts MAE \(f(b.steadyMAE)) W.\n\n"
            md += "Error by busy CPU:\n\n"
            md += mdTable(["busy CPU %", "windows", "MAE W", "RMSE W", "bias W"],
                          s.model.busyBins.map { ["\(Int($0.lowerPercent))–\(Int($0.upperPercent))", "\($0.metrics.count)", f($0.metrics.mae), f($0.metrics.rmse), f($0.metrics.meanBias)] })
            md += "\n"
        }

        if !r.live.isEmpty {
            md += "## Live traces\n\n"
            md += mdTable(["trace", "windows", "MAE W", "RMSE W", "R²", "bias W", "idle bias W", "bursts", "burst overshoot W"],
                          r.live.map { l in [l.name, "\(l.windows)", f(l.overall.mae), f(l.overall.rmse), f(l.overall.r2, 3), f(l.overall.meanBias),
                                             f(l.idleBias.metrics.count > 0 ? l.idleBias.metrics.meanBias : nil), "\(l.burst.burstCount)", f(l.burst.meanPeakOvershoot)] })
            md += "\n"
            for l in r.live {
                guard let i = l.interval else { continue }
                let gap = i.coverage - i.nominal
                md += "\(l.name): the \(f(i.nominal * 100, 0)) % interval covers \(f(i.coverage * 100, 1)) %"
                md += gap < -0.02 ? " (short by \(f(-gap * 100, 1)) points)" : ""
                md += ", mean width \(f(i.meanWidthWatts)) W, AUROC of the width for |error| > 5 W \(f(i.errorAUROCWidth, 3)).\n\n"
            }
        }

        if let g = r.guestSize {
            md += "## Guest size (a VM is a slice of its host)\n\n"
            md += "Test windows of the `\(g.split)` split by guest size k (of T = \(g.hostThreads) threads) and neighbour load. Target: the "
            md += "guest's share by `\(g.rule)` (P_idle = \(f(g.hostIdleWatts)) W). Per-vCPU CCF: k·(m + u·(M − m)), m = P_idle/T, "
            md += "M = \(f(g.perVcpuMaxWatts)) W per busy vCPU fitted on the training windows. "
            md += g.wholeHostModelName.map { "Whole-host model: `\($0)` (what a model without host metadata, such as a DECODE-RAPL checkpoint, tells this guest). " } ?? ""
            md += "Irreducible: RMSE of `sim_hidden_w`, the part of the share no guest-visible predictor can know.\n\n"
            md += mdTable(["k", "neighbours", "windows", "mean share W", "model MAE W", "whole-host MAE W", "per-vCPU CCF MAE W", "irreducible W", "interval coverage"],
                          g.rows.map { [String($0.vcpus), $0.neighbourLoad, String($0.windows), f($0.meanTargetWatts), f($0.model.mae),
                                        f($0.wholeHostModel?.mae), f($0.perVcpuBaseline.mae), f($0.irreducibleRMSE),
                                        $0.intervalCoverage.map { f($0 * 100, 1) + " %" } ?? "–"] })
            md += "\n"
            if let c = g.coTenancy {
                md += "### Co-tenancy: guests of one host, estimated independently\n\n"
                md += "\(c.tenants.count) guests (vCPUs \(c.tenants.map { String($0.vcpus) }.joined(separator: "+")) of \(g.hostThreads)) over \(f(c.seconds, 0)) s of one host time line, "
                md += "each estimated by the model as its own vrapl-guest would. Package \(f(c.packageMeanWatts)) W; sum of the estimates "
                md += "\(f(c.estimateSumMeanWatts)) W (**\(f(c.relativeError * 100, 1)) %**); sum of the true shares \(f(c.truthSumMeanWatts)) W.\n\n"
                md += mdTable(["trace", "k", "mean estimate W", "mean truth W", "MAE W"],
                              c.tenants.map { [$0.trace, String($0.vcpus), f($0.meanEstimateWatts), f($0.meanTruthWatts), f($0.mae)] })
                md += "\n"
            }
        }

        let c = r.ceiling
        if let o = r.ood {
            md += "## What the OOD flag detects\n\n"
            md += "The guest flags a window out of distribution when its trust score is below 0.5 (a value outside the training ranges, "
            md += "or a latent vector farther out than any training window). On the \(o.split) split's \(o.windows) test windows as they are it "
            md += "raises \(f(o.falseAlarmRate * 100, 2)) % (false alarms, if they are in distribution); on the same windows made impossible on purpose it raises "
            md += "\(o.contextSwitchTenfoldDetection.map { f($0 * 100, 1) + " %" } ?? "n/a") with each window's context-switch rate ×10, "
            md += "\(o.contextSwitchBeyondRangeDetection.map { f($0 * 100, 1) + " %" } ?? "n/a") with it at ten times the training maximum and "
            md += "\(o.impossibleBusyDetection.map { f($0 * 100, 1) + " %" } ?? "n/a") with busy percentages above 100 %. "
            md += "A held-out family is not out of range by construction: its flagged share is the family split's OOD rate above.\n\n"
        }
        md += "## Feature ceiling\n\n"
        md += "How much error no predictor of these window features can avoid: √E[Var(power | window)], estimated model-free "
        md += "(\(c.result.method); \(c.result.referenceCount) reference windows, \(c.result.overall.queries) queries, \(f(c.seconds, 1)) s). "
        md += "Windows are reduced to block means per feature (newest-first blocks of 1, 2, 4, 8, … samples) and min–max scaled; "
        md += "neighbours come from other segments only. The uncorrected nearest-neighbour value is an upper bound; the decomposed "
        md += "column splits pairs by the families of both ends (for families that overlap in feature space).\n\n"
        var crow = [["**all**", f(c.result.overall.rmse), f(c.result.decomposedOverallRMSE), f(c.result.overall.nearestNeighbourRMSE), f(c.hiddenRMSE),
                     c.hiddenRMSE.map { f(c.result.overall.rmse / $0, 3) } ?? "–"]]
        for (fam, e) in c.result.byFamily.sorted(by: { $0.key < $1.key }) {
            let h = c.hiddenRMSEByFamily?[fam]
            crow.append([fam, f(e.rmse), f(e.decomposedRMSE), f(e.nearestNeighbourRMSE), f(h), h.map { f(e.rmse / $0, 3) } ?? "–"])
        }
        md += mdTable(["family", "ceiling W", "decomposed W", "nearest-neighbour W", "sim_hidden_w RMSE W", "ratio"], crow)
        md += "\n"

        if let gap = r.gap {
            md += "## Generalisation gap\n\n"
            md += "The same architecture and features, retrained briefly under each split and scored on that split's test windows. "
            md += "Shuffled splits put near-identical neighbours of every test window into training; held-out segments, families and "
            md += "later time do not.\n\n"
            md += mdTable(["split", "held out", "train", "test", "epochs", "MAE W", "RMSE W", "R²", "idle bias W", "linear RMSE W", "ceiling W"],
                          gap.map { [$0.split, $0.heldOut.prefix(3).joined(separator: ", ") + ($0.heldOut.count > 3 ? ", …" : ""), "\($0.trainWindows)", "\($0.testWindows)", "\($0.epochs)",
                                     f($0.model.mae), f($0.model.rmse), f($0.model.r2, 3), f($0.idleBias), f($0.linearBaseline.rmse), f($0.ceilingRMSE)] })
            if let sh = gap.first(where: { $0.split == "shuffle" }), let fa = gap.first(where: { $0.split == "family" }) {
                md += "\nShuffle → family: RMSE \(f(sh.model.rmse)) → \(f(fa.model.rmse)) W, R² \(f(sh.model.r2, 3)) → \(f(fa.model.r2, 3)).\n"
            }
            md += "\n"
        }
        if let ab = r.ablation {
            md += "## Feature ablation\n\n"
            md += "Short retrains with named feature sets (a left-out feature is held constant at zero) on the `segment` split; "
            md += "ΔRMSE is against the full decode-rapl-4 set (positive: the feature helps). Each row is a single short retrain "
            md += "from one seed, so differences of about a watt or less are within retraining noise.\n\n"
            md += mdTable(["feature set", "split", "MAE W", "RMSE W", "R²", "ΔRMSE W"],
                          ab.map { [$0.name, $0.split, f($0.model.mae), f($0.model.rmse), f($0.model.r2, 3), f($0.deltaRMSE)] })
            md += "\n"
        }
        if !r.calibration.isEmpty {
            md += "## Calibration\n\n"
            md += "Each correction is fitted on the first half (in time) and scored on the second half only. `idle-offset` is "
            md += "DECODE-RAPL's proposal (subtract the mean idle error); `host-offset-scale` is vrapl-guest's host-assisted "
            md += "correction (Theil–Sen fit of measured ≈ a + s·predicted over 2 s interval means, as from a host energy counter).\n\n"
            md += mdTable(["data", "method", "parameters", "scored", "RMSE before W", "RMSE after W", "idle bias before W", "idle bias after W", "note"],
                          r.calibration.map { [$0.data, $0.method.rawValue, $0.parameters.map { f($0, 3) }.joined(separator: ", "), "\($0.scoreRows)",
                                               f($0.before.rmse), f($0.after?.rmse), f($0.idleBiasBefore), f($0.idleBiasAfter), $0.note ?? ""] })
            md += "\n"
        }
        md += "## Plots\n\n"
        for p in plots { md += "![\(p.caption)](\(p.file))\n\n" }
        md += "Metric definitions: MAE, RMSE, R² = 1 − SS_res/SS_tot, mean bias = mean(predicted − measured); MAPE skips windows with "
        md += "|measured| < \(f(ErrorMetrics.defaultMapeEpsilon, 0)) W. Idle: busy CPU < 5 %. A burst: a non-idle run after ≥ 1 s of idle, "
        md += "back to idle within 10 s, peak busy ≥ 20 %; its first second is the response. All in `metrics.json`.\n"
        do { try md.write(toFile: dir + "/report.md", atomically: true, encoding: .utf8) } catch {
            throw VraplError("cannot write \(dir)/report.md: \(error.localizedDescription)")
        }
    }
}
