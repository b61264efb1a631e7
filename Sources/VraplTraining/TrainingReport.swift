import Foundation
import VraplCore
import VraplModel
import VraplDataset
import VraplNN
import VraplReport

/// Training history JSON, the SVG training curve and the Markdown model card.
public enum TrainingReport {
    public static func writeHistory(_ history: [EpochRecord], config: TrainConfig, metrics: MetricsSummary, to url: URL) throws {
        struct H: Encodable { var config: String; var epochs: [EpochRecord]; var summary: MetricsSummary }
        try ReportJSON.write(H(config: config.name, epochs: history, summary: metrics), to: url.path, what: "training history")
    }

    /// Training and validation loss per epoch (and validation MAE) as an SVG line plot.
    public static func curve(_ history: [EpochRecord], title: String) -> SVGPlot {
        let x = history.map { Double($0.epoch + 1) }
        var plot = SVGPlot.line(title: title, xLabel: "epoch", yLabel: "loss / MAE (W)", series: [
            .init(name: "train loss", x: x, y: history.map(\.trainLoss)),
            .init(name: "validation loss", x: x, y: history.map(\.validation.loss)),
            .init(name: "validation MAE (W)", x: x, y: history.map(\.validation.mae), dashed: true),
        ])
        plot.yIncludesZero = true
        return plot
    }

    static func f(_ v: Double?, _ digits: Int = 3) -> String { ReportNumber.fixed(v, digits) }

    public static func modelCard(modelName: String, config: TrainConfig, dataset: WindowDataset, provenance: [TraceProvenance],
                                 split: DatasetSplit, powerSource: PowerSource, history: [EpochRecord], metrics: MetricsSummary,
                                 network: Network, threads: Int, seconds: Double, commandLine: String, files: [String]) -> String {
        var s = "# Model card: \(modelName)\n\n"
        if powerSource.isSimulated {
            s += "> **SIMULATED POWER (`\(powerSource)`).** This model was trained on simulated package power, not on a RAPL\n"
            s += "> meter. Its numbers describe the simulator, not any real CPU. Do not use them as measured power.\n\n"
        } else {
            s += "Power source: **`rapl`** (package energy counters of the recording host).\n\n"
        }
        s += "| | |\n| --- | --- |\n"
        s += "| architecture | \(config.architectureKind == .cnn1d ? "v4.1 1D-CNN encoder + power head" : "v3 MLP encoder + power head") (`\(config.architectureKind.rawValue)`), \(network.parameterCount) parameters |\n"
        s += "| features | `\(config.featureSet.name)`: \(dataset.featureNames.joined(separator: ", ")) |\n"
        s += "| embedding | d = \(config.d), τ = \(config.tau), \(Int(config.sampleIntervalMs)) ms samples: look-back \(Int(Double(config.d - 1) * Double(config.tau) * config.sampleIntervalMs)) ms |\n"
        if let view = dataset.guestView {
            s += "| target | `guest_share_watts`: a guest's share of its host's package by `\(view.rule.rawValue)` (P_vm = P_idle·k/T + (P_pkg − P_idle)·U_vm/U_host) |\n"
            s += "| host shape | guest-shaped: host \(view.host.cpuModel), T = \(view.host.threads) threads, P_idle \(f(view.host.idleWatts, 2)) W; trained on guests of k = \(view.vcpus.lowerBound)…\(view.vcpus.upperBound) vCPUs |\n"
        } else {
            s += "| target | `package_power_watts` (sum of package zones) |\n"
            s += "| host shape | whole-host model: it estimates the power of the machine whose counters it reads (a guest gets its whole host's power) |\n"
        }
        s += "| power source | `\(powerSource)` |\n"
        s += "| config | `\(config.name)` (batch \(config.batchSize), lr \(config.learningRate), weight decay \(config.weightDecay), dropout \(config.dropout), loss \(config.loss.name), ReduceLROnPlateau ×\(config.schedulerFactor) after \(config.schedulerPatience), early stopping \(config.earlyStoppingPatience), seed \(config.seed)) |\n"
        s += "| trained | \(history.count) epochs in \(f(seconds, 1)) s on \(threads) thread(s); best epoch \(metrics.bestEpoch) |\n\n"

        s += "## Data\n\n"
        s += "\(dataset.sampleCount) samples, \(dataset.windowCount) windows (first \(config.skipSamples) samples of each segment skipped; "
        s += config.crossSegments ? "windows may cross segments).\n\n" : "windows stay inside their segment and trace).\n\n"
        s += "| file | host | power | samples | windows | segments | sha256 |\n| --- | --- | --- | ---: | ---: | ---: | --- |\n"
        for p in provenance {
            s += "| `\(URL(fileURLWithPath: p.path).lastPathComponent)` | \(p.host.isEmpty ? "–" : p.host) | `\(p.powerSource)` | \(p.samples) | \(p.windows) | \(p.segments) | `\(p.sha256.isEmpty ? "–" : String(p.sha256.prefix(16)))…` |\n"
        }
        s += "\n## Split\n\n"
        s += "`\(config.split.kind.rawValue)` (seed \(config.split.seed)): train \(split.train.count), validation \(split.validation.count), test \(split.test.count) windows."
        switch config.split.kind {
        case .shuffle: s += " Neighbouring windows overlap, so shuffled scores are optimistic (DECODE-RAPL's protocol).\n"
        case .segment:
            s += " Whole segments held out"
            s += config.split.stratifyByDesign ? ", every cell of the campaign's design (family, guest size, neighbour load) in proportion (`stratify: design`).\n" : ".\n"
        case .family: s += " Every segment of one workload family held out for the test.\n"
        case .time: s += " The end of each trace held out; windows reaching back into the previous part dropped.\n"
        }
        if !split.heldOut.isEmpty {
            let shown = split.heldOut.prefix(12).map { "`\($0)`" }.joined(separator: ", ")
            s += "\nHeld out: \(shown)\(split.heldOut.count > 12 ? " and \(split.heldOut.count - 12) more" : "").\n"
        }
        s += "\n## Metrics (best-validation weights)\n\n| set | windows | MAE (W) | RMSE (W) | R² |\n| --- | ---: | ---: | ---: | ---: |\n"
        for (name, m) in [("validation", metrics.validation), ("test", metrics.test)] {
            s += "| \(name) | \(m.count) | \(f(m.mae)) | \(f(m.rmse)) | \(f(m.r2, 4)) |\n"
        }
        if powerSource.isSimulated { s += "\nAll figures are against simulated power (`\(powerSource)`).\n" }
        s += "\n## Training history\n\n| epoch | train loss | val loss | val MAE | val R² | lr | samples/s |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        for r in history {
            s += "| \(r.epoch + 1)\(r.epoch + 1 == metrics.bestEpoch ? " *" : "") | \(f(r.trainLoss, 4)) | \(f(r.validation.loss, 4)) | \(f(r.validation.mae)) | \(f(r.validation.r2, 4)) | \(String(format: "%.2e", r.learningRate)) | \(f(r.samplesPerSecond, 0)) |\n"
        }
        s += "\n## Files\n\n" + files.map { "- `\($0)`" }.joined(separator: "\n") + "\n"
        if !commandLine.isEmpty { s += "\nCommand: `\(commandLine)`\n" }
        s += "\nvrapl \(VraplVersion.string), \(ISO8601DateFormatter().string(from: Date())).\n"
        return s
    }
}
