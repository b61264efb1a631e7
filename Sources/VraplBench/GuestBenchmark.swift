#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import VraplCore
import VraplDataset
import VraplModel
import VraplNN
import VraplGuest
import VraplSources

/// Measurements behind docs/PERFORMANCE.md "## Guest": single-prediction latency and the cost of
/// the live loop as a separate process (CPU share of one core, resident memory over time).
public enum GuestBenchmark {
    public struct Latency: Sendable {
        public var count: Int
        public var p50Microseconds: Double
        public var p99Microseconds: Double
        public var maxMicroseconds: Double
        /// Whole per-sample step (feature row, window, scaling, prediction, trust, energy).
        public var stepP50Microseconds: Double
        public var stepP99Microseconds: Double
    }

    /// A model with the v4.1 CNN and random weights (the cost does not depend on the weights), for
    /// benchmarking without a trained model. Written to `path`.
    public static func writeSyntheticModel(to path: String) throws {
        let arch = Architecture.cnnV41()
        let network = try Network(architecture: arch, maxBatch: 1, seed: 1)
        let d = 25
        let features = FeatureSet.decodeRapl4.featureNames
        let model = ModelFile(architecture: arch, features: features, embedding: Embedding(d: d, tau: 1, sampleIntervalMs: 16),
                              normalization: Normalization(featureMin: Array(repeating: 0, count: 4 * d),
                                                           featureRange: (0..<4).flatMap { f in Array(repeating: f == 3 ? 15.0 : 100.0, count: d) }),
                              powerSource: .simulated(profile: "bench"), name: "bench-synthetic",
                              tensors: try ModelFile.tensors(from: network))
        var withStats = model
        withStats.trainingStats = TrainingStats(windows: 1, features: features, featureMin: [0, 0, 0, 0], featureMax: [100, 100, 100, 15],
                                                featureQ01: [1, 1, 0, 5], featureQ50: [30, 10, 1, 9], featureQ99: [95, 60, 20, 12])
        try withStats.write(to: URL(fileURLWithPath: path))
    }


    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1  // nearest rank
        return sorted[min(sorted.count - 1, max(0, rank))]
    }

    /// Times `count` single-window predictions on synthetic samples (after `warmup`), one at a time.
    public static func latency(model: ModelFile, count: Int = 20_000, warmup: Int = 1_000) throws -> Latency {
        let network = try model.makeNetwork()
        let timed = TimedPredictor(network)
        let estimator = try GuestEstimator(model: model, predictor: timed)
        var stat = ProcStatSnapshot()
        var rng = UInt64(0x9E3779B97F4A7C15)
        var t: UInt64 = 0
        var steps: [Double] = []
        steps.reserveCapacity(count)
        timed.samples.reserveCapacity(count + warmup + 100)
        for i in 0..<(count + warmup + estimator.warmupSamples) {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            let busy = (rng >> 33) % 4
            stat.cpu.user += busy; stat.cpu.system += (rng >> 40) % 2; stat.cpu.idle += 3 - min(3, busy)
            stat.contextSwitches += 100 + (rng >> 20) % 4000
            t += 16_000_000
            let start = SampleClock.monotonicNs()
            _ = estimator.process(RawSample(monotonicNs: t, stat: stat), wallClockUnix: 0)
            let elapsed = Double(SampleClock.monotonicNs() - start) / 1e3
            if i >= warmup + estimator.warmupSamples { steps.append(elapsed) }
        }
        let predictions = Array(timed.samples.suffix(count)).sorted()
        steps.sort()
        return Latency(count: predictions.count, p50Microseconds: percentile(predictions, 0.5), p99Microseconds: percentile(predictions, 0.99),
                       maxMicroseconds: predictions.last ?? .nan, stepP50Microseconds: percentile(steps, 0.5),
                       stepP99Microseconds: percentile(steps, 0.99))
    }

    /// Times single predictions paced like the live loop (one every `intervalMs`, sleeping between),
    /// so caches and predictors are as cold as in the daemon: p50 and p99 in µs.
    public static func pacedLatency(model: ModelFile, count: Int = 300, intervalMs: Double = 16) throws -> (p50: Double, p99: Double) {
        let network = try model.makeNetwork()
        var window = [Float](repeating: 0.3, count: model.inputSize)
        var samples: [Double] = []
        for i in 0..<(count + 5) {
            window[i % window.count] = Float(i % 7) * 0.1
            usleep(useconds_t(intervalMs * 1000))
            let start = SampleClock.monotonicNs()
            _ = window.withUnsafeBufferPointer { p in p.baseAddress.map { network.predict(window: $0) } }
            if i >= 5 { samples.append(Double(SampleClock.monotonicNs() - start) / 1e3) }
        }
        samples.sort()
        return (percentile(samples, 0.5), percentile(samples, 0.99))
    }

    /// The batched mode's cost: one pass over `windows` windows (one export interval's worth) in the
    /// guest's chunks (`GuestRunner.batchChunk`), paced like the daemon (a sleep of `sleepMs` before each
    /// pass, so the weights are as cold as at an export tick): p50 and p99 of the pass in µs, the p50
    /// per window, and how many chunks took the sliding forward. The windows are those of consecutive
    /// samples, scaled by the model's own scaler as the guest scales them, so `sharesSlidingWindows`
    /// applies exactly where it does in the guest (not for a scaler whose range differs by position).
    public static func pacedBatchLatency(model: ModelFile, windows: Int = 62, count: Int = 100, sleepMs: Double = 16,
                                         sharesSlidingWindows: Bool = true, chunk: Int = GuestRunner.batchChunk)
        throws -> (p50: Double, p99: Double, perWindow: Double, slidingChunks: Int, chunks: Int) {
        let network = try model.makeNetwork(maxBatch: min(chunk, windows), inferenceOnly: true)
        network.sharesSlidingWindows = sharesSlidingWindows
        let d = model.embedding.d, f = model.inputSize / max(1, d)
        let scaler = model.makeScaler()
        // A random walk of the scaled-to-[0, 1] features, one row per sample, in raw units.
        var rng = SplitMix64(seed: 11)
        let length = windows + d - 1
        var walk = [Float](repeating: 0.5, count: length * f)
        for t in 1..<length {
            for c in 0..<f { walk[t * f + c] = min(1, max(0, walk[(t - 1) * f + c] + (rng.nextUniform() - 0.5) * 0.1)) }
        }
        var inputs = [Float](repeating: 0, count: windows * model.inputSize)
        for w in 0..<windows {
            let newest = w + d - 1
            for c in 0..<f {
                for j in 0..<d {
                    let position = model.embedding.order == .oldestFirst ? d - 1 - j : j
                    let p = c * d + position
                    inputs[w * model.inputSize + p] = scaler.featureMin[p] + walk[(newest - j) * f + c] * scaler.featureRange[p]
                }
            }
        }
        scaler.transform(rows: &inputs)
        var outputs = [Float](repeating: 0, count: windows)
        var samples: [Double] = []
        for i in 0..<(count + 3) {
            if sleepMs > 0 { usleep(useconds_t(sleepMs * 1000)) }
            let start = SampleClock.monotonicNs()
            inputs.withUnsafeBufferPointer { x in
                outputs.withUnsafeMutableBufferPointer { y in network.predict(inputs: x.baseAddress!, count: windows, into: y.baseAddress!) }
            }
            if i >= 3 { samples.append(Double(SampleClock.monotonicNs() - start) / 1e3) }
        }
        samples.sort()
        let p50 = percentile(samples, 0.5)
        let chunks = (windows + network.maxBatch - 1) / network.maxBatch
        return (p50, percentile(samples, 0.99), p50 / Double(windows), network.slidingPasses / (count + 3), chunks)
    }

    /// The normalized interval's cost per window: the local spread (window means, a k-d tree search
    /// of the model's reference set, q90 − q10 of the neighbours' power), `count` windows back to
    /// back after a warm-up; p50 and p99 in µs. nil when the model's interval is not normalized (or a
    /// spread came out non-finite, which a valid reference set cannot give).
    ///
    /// Each window is near a random reference point, or, `consecutive`, each is the last one moved on by
    /// one sample of a random walk (the guest's case: the index bounds a search by the one before), with
    /// a jump to another reference point every 500 windows.
    public static func spreadLatency(model: ModelFile, count: Int = 5000, consecutive: Bool = false) -> (p50: Double, p99: Double)? {
        guard let reference = model.interval?.local else { return nil }
        let index = reference.makeIndex()
        let d = model.embedding.d, f = reference.features
        var raw = [Float](repeating: 0, count: f * d)
        var samples: [Double] = []
        var sum = 0.0  // every spread is used, so none of the searches can be optimised away
        var rng = SplitMix64(seed: 3)
        // The walk, in each feature's reference scale ([0, 1] over the reference set's range).
        var level = [Float](repeating: 0.5, count: f)
        for i in 0..<(count + 50) {
            if consecutive && i % 500 != 0 {
                for j in 0..<f {
                    level[j] = min(1, max(0, level[j] + Float(Int(rng.next() % 200) - 100) / 4000))
                    let row = j * d
                    for t in 0..<(d - 1) { raw[row + t] = raw[row + t + 1] }
                    raw[row + d - 1] = reference.featureMin[j] + level[j] * reference.featureRange[j]
                }
            } else {
                // Windows at reference points (with noise), where the search does its real work.
                let r = Int(rng.next() % UInt64(reference.count))
                for j in 0..<f {
                    level[j] = reference.points[r * f + j]
                    let v = reference.featureMin[j] + level[j] * reference.featureRange[j]
                    for t in 0..<d { raw[j * d + t] = v * (1 + Float(Int(rng.next() % 200) - 100) / 2000) }
                }
            }
            let start = SampleClock.monotonicNs()
            let a = raw.withUnsafeBufferPointer { index.spread(rawWindow: $0, length: d) }
            if i >= 50 { samples.append(Double(SampleClock.monotonicNs() - start) / 1e3) }
            sum += a
        }
        guard sum.isFinite else { return nil }
        samples.sort()
        return (percentile(samples, 0.5), percentile(samples, 0.99))
    }

    /// What one export tick costs beyond the predictions, per export: rendering a snapshot as the
    /// Prometheus text (/metrics and the textfile), and the textfile written as `--textfile` writes it
    /// (the render, a temporary file, the rename over the last one) into `directory`, whose filesystem
    /// decides most of it. The snapshot is a guest's after a prediction of `model`, with this machine's
    /// processors as Kepler's cpu_info (`procfs`). `count` of each, back to back after a warm-up; p50
    /// and p99 in µs.
    public static func exportLatency(model: ModelFile, directory: String, procfs: String = "/proc", count: Int = 200) throws
        -> (renderP50: Double, renderP99: Double, textfileP50: Double, textfileP99: Double, bytes: Int) {
        let identity = ModelIdentity(model: model, featureSet: (try? model.featureSet().name) ?? model.features.joined(separator: ","))
        var estimate = GuestEstimate(index: 1000, monotonicNs: 16_000_000_000, wallClockUnix: Date().timeIntervalSince1970,
                                     predictedWatts: 12.345678, isNewPrediction: true, energyJoules: 12345.678901, busyPercent: 37.5,
                                     trust: 0.93, isOutOfDistribution: false, trustLimitedBy: "user_percent",
                                     outOfDistributionCount: 3, predictionCount: 999)
        if model.interval != nil {
            estimate.interval = PowerInterval(low: 11.25, high: 13.5)
            estimate.energyBoundsJoules = PowerInterval(low: 11_000.5, high: 13_500.25)
        }
        if let shape = model.guestShape {
            estimate.vcpus = 2
            estimate.idleWatts = shape.rule.idleWatts(host: shape.host, vcpus: 2)
        }
        var snapshot = GuestSnapshot(model: identity, estimate: estimate)
        snapshot.node = NodeIdentity(nodeName: NodeIdentity.hostName(), processors: CPUInfo(procfs: procfs).processors)
        snapshot.samples = 1001
        let exporter = try TextfileExporter(directory: directory)
        var render: [Double] = [], textfile: [Double] = []
        var bytes = 0
        for i in 0..<(count + 10) {
            snapshot.estimate?.energyJoules += 1
            var start = SampleClock.monotonicNs()
            bytes = PrometheusText.render(snapshot).utf8.count
            if i >= 10 { render.append(Double(SampleClock.monotonicNs() - start) / 1e3) }
            start = SampleClock.monotonicNs()
            try exporter.export(snapshot)
            if i >= 10 { textfile.append(Double(SampleClock.monotonicNs() - start) / 1e3) }
        }
        render.sort(); textfile.sort()
        return (percentile(render, 0.5), percentile(render, 0.99), percentile(textfile, 0.5), percentile(textfile, 0.99), bytes)
    }

    /// Wraps a predictor and records each call's duration (µs).
    final class TimedPredictor: WindowPredictor {
        let inner: WindowPredictor
        var samples: [Double] = []
        init(_ inner: WindowPredictor) { self.inner = inner }
        var inputSize: Int { inner.inputSize }
        var latent: UnsafeBufferPointer<Float> { inner.latent }
        func predict(window: UnsafePointer<Float>) -> Float {
            let start = SampleClock.monotonicNs()
            let y = inner.predict(window: window)
            samples.append(Double(SampleClock.monotonicNs() - start) / 1e3)
            return y
        }
    }

    public struct LiveCost: Sendable {
        /// Seconds from the start to the last reading, and the CPU used by then (start-up included).
        public var seconds: Double
        public var cpuSeconds: Double
        public var cpuPercentOfOneCore: Double
        /// CPU % of one core once started: on-CPU time from `/proc/<pid>/schedstat` between the first
        /// once-a-second reading at least `steadyAfterSeconds` after the start and the last one, so model
        /// loading and the first export (paid once per daemon life) are left out. nil for runs too short.
        public var steadyCPUPercentOfOneCore: Double?
        /// VmRSS samples (MiB), one per second.
        public var rssMiB: [Double]
        /// From /proc/<pid>/smaps_rollup at the last sample: proportional set size and private
        /// (unshared) memory, MiB; most of the RSS is shared-library text (Swift runtime, Foundation).
        public var pssMiB: Double?
        public var privateMiB: Double?
        /// Predictions made and late ticks, from the one scrape of /metrics near the end, `countedSeconds`
        /// after the start.
        public var predictions: Int
        public var lateTicks: Int
        public var skippedReads: Int
        public var countedSeconds: Double
    }

    /// The C sampling floor's source, relative to a checkout's root.
    public static let samplingFloorSource = "scripts/reference/sampling-floor.c"

    /// Compiles `source` (`scripts/reference/sampling-floor.c`) with `cc -O2` into `directory` and
    /// returns the binary's path. Throws with the compiler's output when it cannot.
    public static func compileSamplingFloor(source: String, into directory: String) throws -> String {
        let binary = directory + "/sampling-floor"
        let (status, output) = try ProgramOutput.capture("cc", ["-O2", "-o", binary, source], mergeStderr: true)
        guard status == 0 else { throw VraplError("cc -O2 \(source): exit status \(status): \(output)") }
        return binary
    }

    /// Seconds after the start from which `LiveCost.steadyCPUPercentOfOneCore` counts.
    public static let steadyAfterSeconds = 2.0

    /// On-CPU time of a process so far, ns (first field of `/proc/<pid>/schedstat`).
    static func onCPUNanoseconds(pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/schedstat", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { UInt64($0) }
    }

    /// 127.0.0.1:`port` as a socket address.
    static func loopback(port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        return addr
    }

    /// A loopback TCP port that was free a moment ago (bound to port 0, then released).
    static func freeLoopbackPort() throws -> UInt16 {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw VraplError("cannot find a free loopback port: \(String(cString: strerror(errno)))") }
        defer { close(s) }
        var addr = loopback(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) == 0 && getsockname(s, $0, &len) == 0 }
        }
        guard ok else { throw VraplError("cannot find a free loopback port: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// `GET /metrics` from 127.0.0.1:`port` (HTTP/1.0, the whole answer read): the body, or nil.
    static func scrape(port: UInt16) -> String? {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { return nil }
        defer { close(s) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        _ = setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = loopback(port: port)
        let connected = withUnsafePointer(to: &addr) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return nil }
        let request = Array("GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(s, $0.baseAddress, $0.count, 0) }) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(s, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response.append(contentsOf: buffer[0..<n])
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.") && text.contains(" 200 "), let body = text.range(of: "\r\n\r\n") else { return nil }
        return String(text[body.upperBound...])
    }

    /// One process of a side-by-side measurement: a guest (its /metrics on `port`, scraped once near
    /// the end for its counters) or the C floor (no port).
    public struct LiveRun: Sendable {
        public var binary: String
        public var arguments: [String]
        public var port: UInt16?

        /// `vrapl-guest` publishing as the README's first guest command does, on /metrics (`--listen` on a
        /// free loopback port, not scraped but once: a scrape costs one render at the scraper's pace); an
        /// exporter that writes every export interval, such as `--textfile`, comes in `extraArguments`
        /// (`exportLatency` gives its cost per export).
        public static func guest(binary: String, modelPath: String, seconds: Double, extraArguments: [String] = []) throws -> LiveRun {
            let port = try freeLoopbackPort()
            return LiveRun(binary: binary, arguments: ["--model", modelPath, "--quiet", "--duration", "\(seconds)s",
                                                       "--listen", "127.0.0.1:\(port)"] + extraArguments, port: port)
        }

        /// `scripts/reference/sampling-floor.c`, compiled: sleep + one pread of /proc/stat every 16 ms.
        public static func floor(binary: String, seconds: Double) -> LiveRun {
            LiveRun(binary: binary, arguments: [String(Int(seconds.rounded(.up))), "1"], port: nil)
        }
    }

    /// Runs every one of `runs` at once, as children, for `seconds` (the floor and the guest modes under
    /// the same load: on a shared VM, runs in turn see different neighbours) and measures each from
    /// `/proc/<pid>/schedstat` once a second: CPU from its start to the last reading, and once started
    /// (from `steadyAfterSeconds` on); resident memory from `/proc/<pid>/status` and `smaps_rollup`.
    public static func liveCosts(_ runs: [LiveRun], seconds: Double) throws -> [LiveCost] {
        var processes: [Process] = []
        defer { for p in processes where p.isRunning { p.terminate() } }
        let start = SampleClock.monotonicNs()
        for run in runs {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: run.binary)
            process.arguments = run.arguments
            process.standardOutput = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                throw VraplError("\(run.binary): cannot start: \(error.localizedDescription)")
            }
            processes.append(process)
        }
        struct Track {
            var rss: [Double] = []
            var pss: Double?, privateMemory: Double?
            var first: (ns: UInt64, cpu: UInt64)?, last: (ns: UInt64, cpu: UInt64)?
            var latest: (ns: UInt64, cpu: UInt64)?
            var prom = "", countedSeconds = 0.0
        }
        var tracks = [Track](repeating: Track(), count: runs.count)
        while processes.contains(where: { $0.isRunning }) {
            Thread.sleep(forTimeInterval: 1)
            for (i, process) in processes.enumerated() where process.isRunning {
                let pid = process.processIdentifier
                let now = SampleClock.monotonicNs()
                let elapsed = Double(now - start) / 1e9
                if let cpu = onCPUNanoseconds(pid: pid) {
                    tracks[i].latest = (now, cpu)
                    if elapsed >= steadyAfterSeconds {
                        if tracks[i].first == nil { tracks[i].first = (now, cpu) } else { tracks[i].last = (now, cpu) }
                    }
                }
                // One scrape, in the run's last seconds, for its counters (a Prometheus would scrape every 15 s or so).
                if let port = runs[i].port, tracks[i].prom.isEmpty, elapsed >= seconds - 1.5, let text = scrape(port: port) {
                    tracks[i].prom = text
                    tracks[i].countedSeconds = Double(SampleClock.monotonicNs() - start) / 1e9
                }
                if let rollup = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) {
                    func kb(_ key: String) -> Double? {
                        rollup.split(separator: "\n").first { $0.hasPrefix(key + ":") }
                            .flatMap { Double($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") }
                    }
                    if let p = kb("Pss") { tracks[i].pss = p / 1024 }
                    if let clean = kb("Private_Clean"), let dirty = kb("Private_Dirty") { tracks[i].privateMemory = (clean + dirty) / 1024 }
                }
                if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                   let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                   let kb = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
                    tracks[i].rss.append(kb / 1024)
                }
            }
        }
        var costs: [LiveCost] = []
        for (i, process) in processes.enumerated() {
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw VraplError("\(runs[i].binary) exited with status \(process.terminationStatus)") }
            let t = tracks[i]
            let prom = t.prom
            func value(_ name: String) -> Int {
                prom.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0
            }
            var steady: Double?
            if let a = t.first, let b = t.last, b.ns > a.ns, b.cpu >= a.cpu {
                steady = 100 * Double(b.cpu - a.cpu) / Double(b.ns - a.ns)
            }
            let wall = t.latest.map { Double($0.ns - start) / 1e9 } ?? 0
            let cpu = t.latest.map { Double($0.cpu) / 1e9 } ?? 0
            costs.append(LiveCost(seconds: wall, cpuSeconds: cpu, cpuPercentOfOneCore: wall > 0 ? 100 * cpu / wall : 0,
                                  steadyCPUPercentOfOneCore: steady, rssMiB: t.rss, pssMiB: t.pss, privateMiB: t.privateMemory,
                                  predictions: value("vrapl_predictions_total"), lateTicks: value("vrapl_late_ticks_total"),
                                  skippedReads: value("vrapl_skipped_reads_total"), countedSeconds: t.countedSeconds))
        }
        return costs
    }
}
