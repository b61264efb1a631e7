import ArgumentParser
import Foundation
import VraplCore
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
        try benchCompressed(data)
        try benchStreaming()
    }

    /// `TraceWriter.write(deflateLevel: 1)` (shuffle + deflate) and reading it back.
    func benchCompressed(_ data: TraceData) throws {
        var bestWrite = Double.infinity, bestRead = Double.infinity
        for _ in 0..<max(1, repeats) {
            let w0 = DispatchTime.now().uptimeNanoseconds
            try TraceWriter.write(data, to: out, deflateLevel: 1)
            let w1 = DispatchTime.now().uptimeNanoseconds
            _ = try TraceReader.read(out)
            let r1 = DispatchTime.now().uptimeNanoseconds
            bestWrite = min(bestWrite, Double(w1 - w0) / 1e9)
            bestRead = min(bestRead, Double(r1 - w1) / 1e9)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? NSNumber)?.doubleValue ?? 0
        print(String(format: "  deflate 1: file %.1f MB, write %.3f s (%.2f M samples/s), read %.3f s (%.2f M samples/s)",
                     size / 1e6, bestWrite, Double(samples) / bestWrite / 1e6, bestRead, Double(samples) / bestRead / 1e6))
    }

    /// The collector's path: `append` one sample at a time, a flush every 62 samples (1 s at 16 ms).
    /// Reports the cost of an append without a flush and the distribution of flush times.
    func benchStreaming() throws {
        let rows = min(samples, 62 * 300)
        var options = TraceWriter.Options()
        options.flushIntervalNs = 62 * 16_000_000 - 1
        let writer = try TraceWriter(path: out, metadata: SyntheticTrace.metadata(), vmstatNames: ["pgfault", "pgmajfault", "pswpin", "pswpout"],
                                     raplZones: SyntheticTrace.zones, recordsSimHiddenWatts: true, options: options)
        var stat = ProcStatSnapshot()
        var vmstat = [UInt64](repeating: 0, count: 4)
        var energy = [UInt64](repeating: 0, count: 4)
        var flushTimes: [Double] = []
        var appendTotal = 0.0
        var appends = 0
        flushTimes.reserveCapacity(rows / 62 + 1)
        for i in 0..<rows {
            let hidden = SyntheticTrace.sample(i, stat: &stat, vmstat: &vmstat, energy: &energy)
            let before = writer.flushCount
            let t0 = DispatchTime.now().uptimeNanoseconds
            try writer.append(monotonicNs: UInt64(i) * 16_000_000, wallClockNs: Int64(i) * 16_000_000, stat: stat,
                              vmstat: vmstat, energyUj: energy, simHiddenWatts: hidden)
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            if writer.flushCount != before { flushTimes.append(dt) } else { appendTotal += dt; appends += 1 }
        }
        try writer.close()
        flushTimes.sort()
        func pct(_ p: Double) -> Double {
            flushTimes.isEmpty ? 0 : flushTimes[min(flushTimes.count - 1, Int((p * Double(flushTimes.count)).rounded(.up)) - 1)]
        }
        print(String(format: "  streaming append   %.0f ns per sample without a flush (%d samples)", appendTotal / Double(max(1, appends)) * 1e9, appends))
        print(String(format: "  streaming flush    62 rows x %d datasets + H5Fflush: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%d flushes)",
                     2 + 15 + 4 + SyntheticTrace.zones.count + 1, pct(0.5) * 1e3, pct(0.99) * 1e3, (flushTimes.last ?? 0) * 1e3, flushTimes.count))
    }
}
