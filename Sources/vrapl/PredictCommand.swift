import ArgumentParser
import Foundation
import VraplCore
import VraplDataset
import VraplModel
import VraplNN
import VraplTrace

/// `vrapl predict`: replays a recorded series through a model, one prediction per full window.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict package power for every sample of a trace or DECODE-RAPL CSV.",
        discussion: """
        Writes CSV `index,timestamp_unix,predicted_power_watts` (plus `package_power_watts` when the input \
        has it), one row per sample from the first full window on; `index` counts input rows from 0.
        """)

    @Option(name: .long, help: "Model file (.safetensors).")
    var model: String

    @Option(name: .long, help: "Input trace (.h5).")
    var trace: String?

    @Option(name: .long, help: "Input DECODE-RAPL CSV (timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec[,package_power_watts]).")
    var csv: String?

    @Option(name: .long, help: "Output CSV.")
    var out: String

    @Option(name: .long, help: "Threads (default 1).")
    var threads: Int = 1

    func validate() throws {
        guard (trace == nil) != (csv == nil) else { throw ValidationError("give exactly one of --trace or --csv") }
    }

    func run() throws {
        let modelFile = try ModelFile.load(contentsOf: URL(fileURLWithPath: model))
        let featureSet: FeatureSet
        do { featureSet = try modelFile.featureSet() } catch {
            throw VraplError("\(model): \(error)")
        }
        let series: FeatureSeries
        let power: [Float]?
        var targetName = "package_power_watts"
        if let trace {
            let data = try GuestViewDerivation.viewIfNeeded(try TraceReader.read(trace), featureSet: featureSet, name: trace)
            series = try FeatureSeries(trace: data, featureSet: featureSet)
            // The trace's own target beside the prediction: the package, or a guest view's share of it.
            power = data.guestView != nil || data.rapl.contains(where: \.isPackage) ? try TargetPower.series(trace: data) : nil
            targetName = TargetPower.name(trace: data)
        } else if let csv {
            guard featureSet == .decodeRapl4 else {
                throw VraplError("\(model): CSV input carries decode-rapl-4 features, the model needs \(featureSet.name)")
            }
            let parsed = try DecodeRaplCSV(url: URL(fileURLWithPath: csv))
            series = parsed.series
            power = parsed.packageWatts
        } else {
            throw ValidationError("give --trace or --csv")
        }
        let predictions = try ModelPredictor(model: modelFile, threads: threads).predict(series: series)
        let first = series.firstWindowEnd(modelFile.delayEmbedding)
        let input = trace ?? csv ?? ""
        guard !predictions.isEmpty else {
            throw VraplError("\(input): \(series.count) feature rows, fewer than the \(first + 1) that one window of \(model) needs: no prediction")
        }
        if let bad = predictions.firstIndex(where: { !$0.isFinite }) {
            let count = predictions.lazy.filter { !$0.isFinite }.count
            throw VraplError("\(model): \(count) of \(predictions.count) predictions are not finite (the first, \(predictions[bad]), for the window ending at sample \(first + bad) of \(input)); nothing written")
        }
        let interval = modelFile.interval
        // A normalized interval needs each window's local spread (from the same raw window).
        var spreads: [Double]? = nil
        if let index = interval?.local?.makeIndex() {
            let embedding = modelFile.delayEmbedding
            var raw = [Float](repeating: 0, count: modelFile.inputSize)
            spreads = (0..<predictions.count).map { i in
                raw.withUnsafeMutableBufferPointer { series.window(endingAt: first + i, embedding: embedding, into: $0.baseAddress!) }
                return raw.withUnsafeBufferPointer { index.spread(rawWindow: $0, length: embedding.d) }
            }
        }
        var text = "index,timestamp_unix,predicted_power_watts" + (power != nil ? "," + targetName : "")
            + (interval != nil ? ",low_watts,high_watts" : "") + "\n"
        text.reserveCapacity(predictions.count * 48)
        for (i, p) in predictions.enumerated() {
            let t = first + i
            text += "\(t),\(String(format: "%.6f", series.timestampsUnix[t])),\(String(format: "%.4f", p))"
            if let power { text += power[t].isFinite ? String(format: ",%.4f", power[t]) : "," }
            if let interval {
                let b = interval.bounds(Double(p), spread: spreads?[i])
                text += String(format: ",%.4f,%.4f", b.low, b.high)
            }
            text += "\n"
        }
        // --out is a stream the user names (a file, a FIFO, /dev/stdout): written in place, never replaced.
        try TextFile.writeStream(text, to: out, option: "--out")
        FileHandle.standardError.write(Data("\(predictions.count) predictions (\(modelFile.powerSource) model) → \(out)\n".utf8))
    }
}
