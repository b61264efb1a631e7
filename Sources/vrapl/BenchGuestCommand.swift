import ArgumentParser
import Foundation
import VraplCore
import VraplGuest
import VraplBench
import VraplModel
import VraplNN
import VraplSources

/// `vrapl bench guest`: single-prediction latency and the live daemon's CPU and memory cost.
struct BenchGuestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guest",
        abstract: "Benchmark vrapl-guest: prediction latency, CPU % of one core and RSS of the live loop (release build)."
    )

    @Option(name: .long, help: "Model file (default: a v4.1 CNN with random weights).")
    var model: String?

    @Option(name: .long, help: "Seconds of live run (0 skips it).")
    var seconds: Double = 60

    @Option(name: .long, help: "Predictions to time.")
    var predictions: Int = 20_000

    @Option(name: .long, help: "Extra vrapl-guest arguments for the live runs, e.g. \"--textfile /tmp/t\" (they publish on --listen only by default).")
    var guestArguments: String?

    @Option(name: .long, help: "Also write the synthetic model here (to run vrapl-guest on it by hand).")
    var saveModel: String?

    @Option(name: .long, help: "vrapl-guest binary (default: beside this vrapl).")
    var guestBinary: String?

    @Option(name: .long, help: "Compiled scripts/reference/sampling-floor.c, the C sampling floor measured in the same run (default: compiled with cc from this checkout's scripts/reference/ when there is one).")
    var floor: String?

    @Flag(name: .long, help: "Do not measure the C sampling floor.")
    var noFloor = false

    @Flag(name: .long, help: "Measure only the default (batched) live mode, not --predict-per-tick beside it.")
    var batchedOnly = false

    @Option(name: .long, help: "Rounds of the floor, batched and per-tick runs, in turn (a shared VM drifts; the summary gives each mode's median ratio to its round's floor).")
    var rounds: Int = 1

    @Flag(name: .long, help: "Run the floor and both modes at the same time in each round, not in turn: the same neighbours for all three, but as they share the VM's vCPUs, one's wake-up can spare another's, so rounds swing both ways.")
    var atOnce = false

    func run() throws {
        if let saveModel { try GuestBenchmark.writeSyntheticModel(to: saveModel) }
        var modelPath = model
        var temporary: String?
        if modelPath == nil {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("vrapl-bench-\(UUID().uuidString).safetensors").path
            try GuestBenchmark.writeSyntheticModel(to: path)
            modelPath = path
            temporary = path
        }
        defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
        guard let modelPath else { return }
        let file = try ModelFile.load(contentsOf: URL(fileURLWithPath: modelPath))
        let latency = try GuestBenchmark.latency(model: file, count: predictions)
        // The guest children inherit this environment, so they choose the same kernel set.
        let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0) in the environment)" } ?? ""
        print("OpenBLAS kernels: \(BLAS.prepare())\(forced); CPU: \(CPUInfo(procfs: "/proc").modelName)")
        print("prediction (\(file.architecture.kind.rawValue), \(latency.count) windows): " + String(format: "p50 %.2f µs  p99 %.2f µs  max %.1f µs",
                     latency.p50Microseconds, latency.p99Microseconds, latency.maxMicroseconds))
        print(String(format: "whole step (features → window → predict → trust → energy): p50 %.2f µs  p99 %.2f µs",
                     latency.stepP50Microseconds, latency.stepP99Microseconds))
        let paced = try GuestBenchmark.pacedLatency(model: file, intervalMs: file.embedding.sampleIntervalMs)
        print(String(format: "prediction paced every %g ms (cold caches, as in the daemon): p50 %.2f µs  p99 %.2f µs",
                     file.embedding.sampleIntervalMs, paced.p50, paced.p99))
        let windowsPerExport = Int((1000 / file.embedding.sampleIntervalMs).rounded(.up))
        let plain = try GuestBenchmark.pacedBatchLatency(model: file, windows: windowsPerExport, sleepMs: file.embedding.sampleIntervalMs,
                                                         sharesSlidingWindows: false)
        print(String(format: "batched pass of %d windows (one export interval) after a sleep: p50 %.1f µs  p99 %.1f µs = %.2f µs per window (paced single: %.2f µs)",
                     windowsPerExport, plain.p50, plain.p99, plain.perWindow, paced.p50))
        let batch = try GuestBenchmark.pacedBatchLatency(model: file, windows: windowsPerExport, sleepMs: file.embedding.sampleIntervalMs)
        if batch.slidingChunks > 0 {
            print(String(format: "  sharing the sliding windows' convolutions (the guest's default), %d of %d chunks: p50 %.1f µs  p99 %.1f µs = %.2f µs per window (%.2f × the pass above)",
                         batch.slidingChunks, batch.chunks, batch.p50, batch.p99, batch.perWindow, batch.p50 / plain.p50))
        } else {
            print("  sharing the sliding windows' convolutions: does not apply (this model scales each lag of a feature differently, so consecutive windows share no convolution output)")
        }
        let warm = try GuestBenchmark.pacedBatchLatency(model: file, windows: windowsPerExport, count: 300, sleepMs: 0)
        print(String(format: "  the same, warm (back to back): p50 %.1f µs  p99 %.1f µs = %.2f µs per window", warm.p50, warm.p99, warm.perWindow))
        if let spread = GuestBenchmark.spreadLatency(model: file),
           let consecutive = GuestBenchmark.spreadLatency(model: file, consecutive: true) {
            print(String(format: "interval (local spread: k-d tree of %d reference windows, k %d) per window: p50 %.2f µs  p99 %.2f µs at random windows, p50 %.2f µs  p99 %.2f µs at consecutive ones (the guest's: each search bounded by the last)",
                         file.interval?.local?.count ?? 0, file.interval?.local?.k ?? 0, spread.p50, spread.p99, consecutive.p50, consecutive.p99))
        }
        do {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vrapl-bench-export-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let export = try GuestBenchmark.exportLatency(model: file, directory: directory)
            print(String(format: "export per interval (beyond the predictions): Prometheus text of a snapshot (%d bytes) p50 %.1f µs  p99 %.1f µs; --textfile (render, write, rename over the last) p50 %.1f µs  p99 %.1f µs in %@",
                         export.bytes, export.renderP50, export.renderP99, export.textfileP50, export.textfileP99,
                         FileManager.default.temporaryDirectory.path))
        }
        guard seconds > 0 else { return }
        let binary = guestBinary ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("vrapl-guest").path
        let extra = (guestArguments ?? "").split(separator: " ").map(String.init)
        // Side by side in one run: the C floor, the default (batched) mode, the per-tick mode.
        var floorPercent: Double?
        var floorBinary = floor
        var floorDirectory: String?
        defer { if let floorDirectory { try? FileManager.default.removeItem(atPath: floorDirectory) } }
        if floorBinary == nil && !noFloor {
            if FileManager.default.fileExists(atPath: GuestBenchmark.samplingFloorSource) {
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vrapl-bench-floor-\(UUID().uuidString)").path
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                        attributes: [.posixPermissions: 0o700])
                floorDirectory = directory
                do {
                    floorBinary = try GuestBenchmark.compileSamplingFloor(source: GuestBenchmark.samplingFloorSource, into: directory)
                } catch {
                    print("C sampling floor not measured: \(error) (give --floor BINARY, or --no-floor)")
                }
            } else {
                print("C sampling floor not measured: no \(GuestBenchmark.samplingFloorSource) here (run from a checkout, or give --floor BINARY)")
            }
        }
        var modes: [(String, [String])] = [("batched (default)", [])]
        if !batchedOnly { modes.append(("per tick (--predict-per-tick)", ["--predict-per-tick"])) }
        // Per mode, the once-started ratio to the same round's floor.
        var ratios = [[Double]](repeating: [], count: modes.count)
        var floors: [Double] = []
        for round in 1...max(1, rounds) {
            if rounds > 1 { print("round \(round) of \(rounds):") }
            // The floor, then each mode, in turn (or, --at-once, all three together).
            var runs: [GuestBenchmark.LiveRun] = []
            if let floor = floorBinary { runs.append(.floor(binary: floor, seconds: seconds)) }
            for mode in modes {
                runs.append(try .guest(binary: binary, modelPath: modelPath, seconds: seconds, extraArguments: extra + mode.1))
            }
            let costs = try atOnce ? GuestBenchmark.liveCosts(runs, seconds: seconds)
                                   : runs.flatMap { try GuestBenchmark.liveCosts([$0], seconds: seconds) }
            let guestCosts = floorBinary == nil ? costs : Array(costs.dropFirst())
            floorPercent = floorBinary == nil ? nil : costs.first?.steadyCPUPercentOfOneCore
            if let floorPercent {
                floors.append(floorPercent)
                print(String(format: "C sampling floor (sleep + pread /proc/stat every 16 ms), %.0f s%@, once started (schedstat from %.0f s on): %.3f %% of one core",
                             seconds, atOnce ? " beside the guests" : "", GuestBenchmark.steadyAfterSeconds, floorPercent))
            }
            for (m, (label, _)) in modes.enumerated() {
                let cost = guestCosts[m]
                let rss = cost.rssMiB
                print(String(format: "live %@, %.1f s at %g ms: CPU %.3f s = %.3f %% of one core (start-up included); %d predictions exported by %.1f s, %d late ticks, %d skipped reads",
                             label, cost.seconds, file.embedding.sampleIntervalMs, cost.cpuSeconds, cost.cpuPercentOfOneCore,
                             cost.predictions, cost.countedSeconds, cost.lateTicks, cost.skippedReads))
                if let steady = cost.steadyCPUPercentOfOneCore {
                    let steadyRatio = floorPercent.map { String(format: ", %.2f × the floor", steady / $0) } ?? ""
                    if let floorPercent { ratios[m].append(steady / floorPercent) }
                    print(String(format: "  once started (schedstat from %.0f s on): %.3f %% of one core%@", GuestBenchmark.steadyAfterSeconds, steady, steadyRatio))
                }
                if let first = rss.first, let last = rss.last, let peak = rss.max() {
                    print(String(format: "  RSS: first %.1f MiB, last %.1f MiB, max %.1f MiB = %.1f MB (%d samples); PSS %.1f MiB, private %.1f MiB",
                                 first, last, peak, peak * 1.048576, rss.count, cost.pssMiB ?? .nan, cost.privateMiB ?? .nan))
                }
            }
        }
        if rounds > 1, !floors.isEmpty {
            func median(_ x: [Double]) -> Double {
                let s = x.sorted()
                return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
            }
            var line = String(format: "median of %d rounds: floor %.3f %% of one core", floors.count, median(floors))
            for (m, (label, _)) in modes.enumerated() where !ratios[m].isEmpty {
                line += String(format: "; %@ %.2f × its round's floor (%.2f–%.2f)", label, median(ratios[m]),
                               ratios[m].min() ?? .nan, ratios[m].max() ?? .nan)
            }
            print(line)
        }
    }
}
