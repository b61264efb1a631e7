import ArgumentParser
import Foundation
import VraplNN
import VraplBench

/// `vrapl bench train`: training and inference throughput of the v4.1 CNN at batch 256 on synthetic data.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Benchmark training (samples/s, GFLOP/s against the sgemm ceiling) and inference latency of the v4.1 CNN.")

    @Option(help: "Threads (the batch is split across them; OpenBLAS runs single-threaded).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Seconds per measured phase.")
    var seconds: Double = 5

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "OpenBLAS kernel set (an OPENBLAS_CORETYPE name, e.g. SkylakeX for AVX-512); default: automatic.")
    var openblasCore: String?

    @Flag(help: .hidden)
    var profile = false

    func run() throws {
        BLAS.prepare()
        if let core = openblasCore, !BLAS.useKernels(core) {
            throw ValidationError("OpenBLAS does not accept the kernel set '\(core)' here (using \(BLAS.coreName))")
        }
        if profile {
            for (name, seconds) in try TrainingBenchmark(threads: 1, seconds: seconds).profile() {
                print(name.padding(toLength: 28, withPad: " ", startingAt: 0), String(format: "%8.3f ms", seconds * 1e3))
            }
            return
        }
        let result = try TrainingBenchmark(threads: threads, seconds: seconds).run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(result)
            print(String(decoding: data, as: UTF8.self))
            return
        }
        func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
        print("v4.1 CNN, batch \(result.batchSize), \(result.threads) thread(s), AdamW, synthetic data, OpenBLAS \(result.openBLASCore) kernels")
        print("  training:          \(f(result.trainSamplesPerSecond, 0)) samples/s, \(f(result.trainGflops)) GFLOP/s")
        print("  sgemm ceiling:     \(f(result.sgemmGflops)) GFLOP/s (256×768×128, \(result.threads) × 1 thread); "
              + "OpenBLAS-threaded: \(f(result.sgemmOpenBLASThreadedGflops)) GFLOP/s")
        print("  efficiency:        \(f(100 * result.trainGflops / max(1e-9, result.sgemmGflops)))% of the sgemm ceiling")
        print("  inference, batch:  \(f(result.inferBatchSamplesPerSecond, 0)) samples/s")
        print("  inference, 1 window: p50 \(f(result.inferLatencyP50Microseconds, 2)) µs, p99 \(f(result.inferLatencyP99Microseconds, 2)) µs")
    }
}
