import ArgumentParser
import Foundation
import VraplTrace

/// `vrapl bench trace`: write and read a synthetic trace of N samples, reporting samples per second.
struct BenchTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Trace store throughput: TraceWriter.write and TraceReader.read of a synthetic trace."
    )

    @Option(help: "Samples in the synthetic trace.")
    var samples: Int = 1_000_000

    @Option(help: "Scratch file (removed afterwards).")
    var out: String = NSTemporaryDirectory() + "vrapl-bench-trace.h5"

    @Option(help: "Repetitions (the best is reported).")
    var repeats: Int = 3

    func run() throws {
        let data = SyntheticTrace.make(samples: samples)
        defer { try? FileManager.default.removeItem(atPath: out) }
        var bestWrite = Double.infinity, bestRead = Double.infinity, bestDerive = Double.infinity
        var readBack = 0
        for _ in 0..<max(1, repeats) {
            let w0 = DispatchTime.now().uptimeNanoseconds
            try TraceWriter.write(data, to: out)
            let w1 = DispatchTime.now().uptimeNanoseconds
            let back = try TraceReader.read(out)
            let r1 = DispatchTime.now().uptimeNanoseconds
            let derived = DerivedSeries(back)
            let d1 = DispatchTime.now().uptimeNanoseconds
            readBack = back.sampleCount + derived.intervalCount * 0
            bestWrite = min(bestWrite, Double(w1 - w0) / 1e9)
            bestRead = min(bestRead, Double(r1 - w1) / 1e9)
            bestDerive = min(bestDerive, Double(d1 - r1) / 1e9)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? NSNumber)?.doubleValue ?? 0
        let columns = 2 + 15 + data.vmstat.count + data.rapl.count + 1
        print("trace bench: \(samples) samples, \(columns) columns, file \(String(format: "%.1f", size / 1e6)) MB, best of \(max(1, repeats))")
        print(String(format: "  TraceWriter.write  %.3f s  %.2f M samples/s", bestWrite, Double(samples) / bestWrite / 1e6))
        print(String(format: "  TraceReader.read   %.3f s  %.2f M samples/s (read back %d)", bestRead, Double(samples) / bestRead / 1e6, readBack))
        print(String(format: "  DerivedSeries      %.3f s", bestDerive))
    }
}
