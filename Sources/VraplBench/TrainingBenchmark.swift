import VraplCore
import VraplNN
import Dispatch

/// The measurements behind `vrapl bench train`: the v4.1 CNN at batch 256 on synthetic data.
public struct TrainingBenchmark: Sendable {
    public struct Result: Sendable, Codable {
        public var threads: Int
        public var batchSize: Int
        public var trainSamplesPerSecond: Double
        public var trainGflops: Double
        public var inferLatencyP50Microseconds: Double
        public var inferLatencyP99Microseconds: Double
        public var inferBatchSamplesPerSecond: Double
        /// `threads` concurrent single-threaded sgemm 256×768×128 (the per-shard ceiling), GFLOP/s in total.
        public var sgemmGflops: Double
        /// OpenBLAS's own threading with `threads` threads on one 256×768×128 sgemm.
        public var sgemmOpenBLASThreadedGflops: Double
        /// OpenBLAS kernel set used (see `BLAS.kernelSelection`).
        public var openBLASCore: String

        enum CodingKeys: String, CodingKey {
            case threads, batchSize = "batch_size"
            case trainSamplesPerSecond = "train_samples_per_s", trainGflops = "train_gflops"
            case inferLatencyP50Microseconds = "infer_latency_p50_us", inferLatencyP99Microseconds = "infer_latency_p99_us"
            case inferBatchSamplesPerSecond = "infer_batch_samples_per_s", sgemmGflops = "sgemm_gflops"
            case sgemmOpenBLASThreadedGflops = "sgemm_openblas_threaded_gflops", openBLASCore = "openblas_core"
        }
    }

    public var threads: Int
    public var batchSize = 256
    /// Seconds per measured phase.
    public var seconds: Double

    public init(threads: Int, seconds: Double) { self.threads = max(1, threads); self.seconds = max(0.05, seconds) }

    /// CPU seconds per step spent in each compute phase (one thread, median over steps), for finding the slow parts.
    public func profile(steps: Int = 40) throws -> [(String, Double)] {
        let network = try Network(architecture: .cnnV41(), maxBatch: batchSize, threads: 1, seed: 1)
        var generator = SplitMix64(seed: 7)
        let inputs = (0..<(batchSize * network.inputSize)).map { _ in generator.nextUniform() }
        let targets = (0..<batchSize).map { _ in generator.nextUniform() * 100 }
        var optimizer = AdamW(parameterCount: network.parameterCount)
        for _ in 0..<3 { network.trainStep(inputs: inputs, targets: targets, loss: .mse, optimizer: &optimizer) }
        // Median over steps of each phase (the machine may be shared).
        var samples: [String: [Double]] = [:]
        var totals: [Double] = []
        for _ in 0..<steps {
            network.profile = [:]
            let start = ProcessCPUTime.threadSeconds()
            network.trainStep(inputs: inputs, targets: targets, loss: .mse, optimizer: &optimizer)
            totals.append(ProcessCPUTime.threadSeconds() - start)
            for (k, v) in network.profile ?? [:] { samples[k, default: []].append(v) }
        }
        func median(_ x: [Double]) -> Double { let s = x.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
        var rows = samples.map { ($0.key, median($0.value)) }.sorted { $0.1 > $1.1 }
        rows.append(("sum of phase medians", rows.reduce(0) { $0 + $1.1 }))
        rows.append(("total step (median)", median(totals)))
        return rows
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    public func run() throws -> Result {
        let architecture = Architecture.cnnV41()
        let network = try Network(architecture: architecture, maxBatch: batchSize, threads: threads, seed: 1)
        let batches = 32
        var generator = SplitMix64(seed: 7)
        let inputs = (0..<(batches * batchSize * network.inputSize)).map { _ in generator.nextUniform() }
        let targets = (0..<(batches * batchSize)).map { _ in generator.nextUniform() * 100 }
        var optimizer = AdamW(parameterCount: network.parameterCount, learningRate: 5e-4, weightDecay: 3e-4)

        // Training.
        var samples = 0
        var elapsed = 0.0
        inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { t in
                guard let xb = x.baseAddress, let tb = t.baseAddress else { return }
                func step(_ k: Int) {
                    let b = k % batches
                    network.trainStep(inputs: xb + b * batchSize * network.inputSize, targets: tb + b * batchSize,
                                      count: batchSize, loss: .mse, optimizer: &optimizer)
                }
                for k in 0..<5 { step(k) }
                let start = Self.now()
                var k = 0
                repeat { step(k); k += 1 } while Self.now() - start < seconds
                elapsed = Self.now() - start
                samples = k * batchSize
            }
        }
        let trainRate = Double(samples) / elapsed

        // Batch inference.
        var inferSamples = 0, inferElapsed = 0.0
        inputs.withUnsafeBufferPointer { x in
            guard let xb = x.baseAddress else { return }
            for k in 0..<3 { network.forward(inputs: xb + (k % batches) * batchSize * network.inputSize, count: batchSize, training: false) }
            let start = Self.now()
            var k = 0
            repeat {
                network.forward(inputs: xb + (k % batches) * batchSize * network.inputSize, count: batchSize, training: false)
                k += 1
            } while Self.now() - start < seconds / 2
            inferElapsed = Self.now() - start
            inferSamples = k * batchSize
        }

        // Single-window latency.
        var latencies: [Double] = []
        latencies.reserveCapacity(200_000)
        inputs.withUnsafeBufferPointer { x in
            guard let xb = x.baseAddress else { return }
            var sink: Float = 0
            for k in 0..<1000 { sink += network.predict(window: xb + (k % 4096) * network.inputSize) }
            let start = Self.now()
            var k = 0
            repeat {
                let t0 = Self.now()
                sink += network.predict(window: xb + (k % 4096) * network.inputSize)
                latencies.append(Self.now() - t0)
                k += 1
            } while Self.now() - start < seconds / 2 && k < 200_000
            if sink.isNaN { latencies.append(0) }
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] * 1e6
        }

        return Result(threads: threads, batchSize: batchSize, trainSamplesPerSecond: trainRate,
                      trainGflops: trainRate * 3 * network.forwardFlopsPerSample / 1e9,
                      inferLatencyP50Microseconds: percentile(0.5), inferLatencyP99Microseconds: percentile(0.99),
                      inferBatchSamplesPerSecond: Double(inferSamples) / inferElapsed,
                      sgemmGflops: Self.sgemmGflops(concurrent: threads, seconds: min(1, seconds / 2)),
                      sgemmOpenBLASThreadedGflops: Self.sgemmOpenBLASThreaded(threads: threads, seconds: min(1, seconds / 2)),
                      openBLASCore: BLAS.coreName)
    }

    /// `concurrent` threads each running single-threaded sgemm C[256×128] = A[256×768]·B[768×128]ᵀ-shaped
    /// (the `encoder.mlp.0` product); total GFLOP/s.
    public static func sgemmGflops(concurrent: Int, seconds: Double) -> Double {
        BLAS.prepare()
        BLAS.setThreads(1)
        let (m, n, k) = (256, 128, 768)
        let a = (0..<concurrent).map { _ in FloatBuffer(count: m * k) }
        let b = (0..<concurrent).map { _ in FloatBuffer(count: n * k) }
        let c = (0..<concurrent).map { _ in FloatBuffer(count: m * n) }
        for buffer in a + b { for i in 0..<buffer.count { buffer[i] = Float(i % 7) * 0.1 } }
        var counts = [Int](repeating: 0, count: concurrent)
        var times = [Double](repeating: 1, count: concurrent)
        counts.withUnsafeMutableBufferPointer { countsPointer in
            times.withUnsafeMutableBufferPointer { timesPointer in
                let cp = countsPointer, tp = timesPointer
                DispatchQueue.concurrentPerform(iterations: concurrent) { t in
                    func once() {
                        BLAS.sgemm(transposeA: false, transposeB: true, m: m, n: n, k: k, a: a[t].pointer, lda: k,
                                   b: b[t].pointer, ldb: k, beta: 0, c: c[t].pointer, ldc: n)
                    }
                    for _ in 0..<5 { once() }
                    let start = now()
                    var count = 0
                    repeat { once(); count += 1 } while now() - start < seconds
                    cp[t] = count; tp[t] = now() - start
                }
            }
        }
        let flops = 2.0 * Double(m * n * k)
        return (0..<concurrent).reduce(0) { $0 + Double(counts[$1]) * flops / times[$1] } / 1e9
    }

    /// One 256×768×128 sgemm with OpenBLAS's own `threads` threads; GFLOP/s. Leaves OpenBLAS at 1 thread.
    public static func sgemmOpenBLASThreaded(threads: Int, seconds: Double) -> Double {
        BLAS.setThreads(threads)
        defer { BLAS.setThreads(1) }
        let (m, n, k) = (256, 128, 768)
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: n * k), c = FloatBuffer(count: m * n)
        for buffer in [a, b] { for i in 0..<buffer.count { buffer[i] = Float(i % 7) * 0.1 } }
        func once() {
            BLAS.sgemm(transposeA: false, transposeB: true, m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: k,
                       beta: 0, c: c.pointer, ldc: n)
        }
        for _ in 0..<5 { once() }
        let start = now()
        var count = 0
        repeat { once(); count += 1 } while now() - start < seconds
        return Double(count) * 2.0 * Double(m * n * k) / (now() - start) / 1e9
    }
}
