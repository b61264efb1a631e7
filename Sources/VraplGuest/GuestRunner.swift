#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import VraplCore
import VraplDataset
import VraplModel
import VraplSources
import VraplAttribution

/// Everything `vrapl-guest` can be asked to do (the command line maps onto this 1:1).
public struct GuestConfig: Sendable {
    public var modelPath: String
    public var procfs = "/proc"
    public var predictEvery = 1
    /// Sampling interval override; must equal the model's (it is refused otherwise).
    public var intervalMs: Double?
    public var jsonl: String?
    public var listen: String?
    public var textfile: String?
    /// Write the textfile at most this often, ms (nil: at every export). It is written at the first
    /// export tick this long after the last write, and at exit.
    public var textfileIntervalMs: Double?
    public var powercapDir: String?
    /// A sysfs-shaped tree `<root>/class/powercap/intel-rapl:0/…` (node_exporter `--path.sysfs`,
    /// Kepler `--host.sysfs`).
    public var sysfsRoot: String?
    /// `max_energy_range_uj` of the published counters (default: a server package's 262 143 328 850 µJ;
    /// larger makes wraps rarer, which node_exporter/Prometheus and Scaphandre do not handle).
    public var maxEnergyRangeUj: UInt64 = PowercapExporter.defaultMaxEnergyRange
    public var hostEnergy: String?
    public var replay: String?
    public var out: String?
    public var duration: Double?
    public var attribute: String?
    /// cgroup v2 root for `--attribute` (default: the mounted cgroup2 hierarchy).
    public var cgroupfs: String?
    /// How often files (textfile, powercap, terminal line, JSONL flush) are refreshed, ms.
    public var exportIntervalMs: Double = 1000
    /// Force the live terminal line on or off (default: on when stdout is a terminal).
    public var terminal: Bool?
    /// Predict at every tick (low latency) instead of batching the windows of each export interval
    /// into one pass at the export tick (the default live mode: one fetch of the weights per export).
    /// Replay emits every sample's estimate at once in either mode.
    public var predictPerTick = false
    /// Report a guest-shaped model's share by this rule (nil: the model's own, normally
    /// `idle-by-allocation`; `active-only` charges no idle power).
    public var shareRule: ShareRule?
    /// Multiplies the host-published energy (`--host-energy-scale`; 5 for Scaphandre #428).
    public var hostEnergyScale: Double = 1
    /// Kepler's `node_name` label (default: the host name).
    public var nodeName: String?
    /// `--processes N`: split the active power across the top N processes (`kepler_process_cpu_*`).
    public var processes: Int?
    /// `--pods`: split the active power across Kubernetes containers and pods (cgroup v2 under `cgroupfs`).
    public var pods = false
    /// Where pod UIDs map to namespace and name (`<namespace>_<name>_<uid>/`).
    public var podLogs = "/var/log/pods"

    public init(modelPath: String) { self.modelPath = modelPath }
}


/// Wall clock, s since the Unix epoch.
@inline(__always) func wallNowUnix() -> Double {
    Double(SampleClock.wallNs()) / 1e9
}

/// The guest daemon: loads and checks the model, opens every output (failing at start with a
/// one-line reason), then runs the live loop or a replay through the same `GuestEstimator`.
public final class GuestRunner {
    public let config: GuestConfig
    /// The model's metadata: its tensors are dropped once the network holds its copy of the weights.
    public let model: ModelFile
    public let estimator: GuestEstimator
    public let identity: ModelIdentity
    public let node: NodeIdentity
    public let intervalNs: UInt64
    public let snapshots: SnapshotBox
    private var server: MetricsServer?
    /// What each export tick writes (textfile, powercap and sysfs trees, JSONL), in that order.
    private var exporters: [SnapshotExporter] = []
    private var processSplit: ProcessSplit?
    private var podSplit: PodSplit?
    private var warnedScaphandreScale = false
    private var jsonl: JSONLWriter?
    private let terminal = TerminalExporter()
    private var hostReader: HostEnergyReader?
    private var calibrator: HostCalibrator?
    private var attribution: GuestAttribution?
    private var samples = 0
    private var lateTicks = 0
    /// Ticks skipped because /proc/stat (or vmstat) could not be read twice in a row (`ReadRetry`).
    private var skippedReads = 0

    /// Windows per network pass in the batched mode.
    public static let batchChunk = 16
    /// Ticks whose /proc/stat text the batched loop holds before parsing them (an export interval's
    /// at the default 1 s; a longer interval drains every 64 ticks: 256 KiB of slots for a small VM).
    public static let stageSlots = 64

    public init(config: GuestConfig) throws {
        self.config = config
        var model = try ModelFile.load(contentsOf: URL(fileURLWithPath: config.modelPath))
        let modelInterval = model.embedding.sampleIntervalMs
        if let requested = config.intervalMs, abs(requested - modelInterval) > 1e-9 {
            throw VraplError("\(config.modelPath): model was trained on windows sampled every \(fmtMs(modelInterval)) ms; sampling every \(fmtMs(requested)) ms would build different windows (refusing)")
        }
        // Batched (live default): the windows of one export interval are predicted in one pass at the
        // export tick. The batch holds every sample since the last export, whatever the ratio of the
        // two intervals (a non-multiple is fine); an export interval below the sample interval is not.
        let batched = !config.predictPerTick
        if batched && config.exportIntervalMs < modelInterval {
            throw VraplError("--export-interval \(fmtMs(config.exportIntervalMs))ms is shorter than the model's sample interval (\(fmtMs(modelInterval)) ms): "
                             + "every export would batch at most one window; use a longer export interval or --predict-per-tick")
        }
        if config.textfileIntervalMs != nil && config.textfile == nil {
            throw VraplError("--textfile-interval needs --textfile DIR (it says how often that file is written)")
        }
        if let t = config.textfileIntervalMs, t < config.exportIntervalMs {
            throw VraplError("--textfile-interval \(fmtMs(t))ms is shorter than the export interval (\(fmtMs(config.exportIntervalMs)) ms): the textfile is written at export ticks")
        }
        let capacity = Int((config.exportIntervalMs / modelInterval).rounded(.up)) + 2
        // Chunks of 16 windows (an export interval's 63 in four): GEMMs large enough to pay for packing
        // the weights, while the inference-only workspace stays under 0.5 MiB (32 would save another
        // 0.1 ms a second for 0.35 MiB more resident; docs/PERFORMANCE.md).
        let network = try model.makeNetwork(maxBatch: batched ? min(GuestRunner.batchChunk, capacity) : 1, inferenceOnly: true)
        // A batch holds the window of every sample since the last export: consecutive windows share
        // most of their convolution outputs, computed once (`Network.forwardSliding`).
        network.sharesSlidingWindows = batched
        // The network holds its own copy of the weights; the file's tensors are not needed again.
        model.tensors = [:]
        self.model = model
        estimator = try GuestEstimator(model: model, predictor: network, predictEvery: config.predictEvery,
                                       batch: batched ? GuestEstimator.Batch(predictor: network, capacity: capacity) : nil,
                                       shareRule: config.shareRule)
        identity = ModelIdentity(model: model, featureSet: estimator.featureSet.name)
        intervalNs = UInt64((modelInterval * 1e6).rounded())
        node = NodeIdentity(nodeName: config.nodeName ?? NodeIdentity.hostName(), processors: CPUInfo(procfs: config.procfs).processors)
        var first = GuestSnapshot(model: identity, estimate: nil)
        first.node = node
        snapshots = SnapshotBox(first)

        if let dir = config.textfile {
            exporters.append(try TextfileExporter(directory: dir, minimumIntervalNs: UInt64(max(0, config.textfileIntervalMs ?? 0) * 1e6)))
        }
        if let dir = config.powercapDir { exporters.append(try PowercapExporter(directory: dir, maxEnergyRange: config.maxEnergyRangeUj)) }
        if let n = config.processes { processSplit = try ProcessSplit(procfs: config.procfs, topN: n) }
        if config.pods {
            guard let root = config.cgroupfs ?? CGroupMount.unifiedRoot() else {
                throw VraplError("--pods: no cgroup v2 hierarchy is mounted here; give --cgroupfs ROOT")
            }
            podSplit = try PodSplit(cgroupfs: root, podLogs: config.podLogs)
        }
        if let dir = config.sysfsRoot { exporters.append(try PowercapExporter(directory: dir, maxEnergyRange: config.maxEnergyRangeUj, layout: .sysfs)) }
        if let path = config.jsonl {
            let writer = try JSONLWriter(path: path)
            jsonl = writer
            exporters.append(writer)
        }
        guard config.hostEnergyScale.isFinite, config.hostEnergyScale > 0, config.hostEnergyScale <= 1000 else {
            throw VraplError("--host-energy-scale \(config.hostEnergyScale): must be a positive factor (5 corrects Scaphandre #428)")
        }
        if let dir = config.hostEnergy {
            let reader = try HostEnergyReader(directory: dir)
            hostReader = reader
            calibrator = HostCalibrator(maxEnergyRange: reader.maxEnergyRange, hostScale: config.hostEnergyScale)
        }
        if let path = config.attribute {
            let estimator = self.estimator
            attribution = try GuestAttribution(configPath: path, procfs: config.procfs, cgroupfs: config.cgroupfs,
                                               modelName: identity.name) { estimator.energyJoules }
        }
        if let listen = config.listen {
            let (host, port) = try MetricsServer.parseListen(listen)
            let box = snapshots
            let metrics = try MetricsServer(address: host, port: port) { PrometheusText.render(box.current) }
            if !metrics.isLoopback {
                fputs("vrapl-guest: warning: --listen \(listen) is not a loopback address: every host that can reach this "
                      + "machine can read /metrics (127.0.0.1:\(port) serves local scrapes only)\n", stderr)
            }
            server = metrics
        }
    }

    /// What the guest says at start about the host shape, and the k it assumes when its /proc/stat
    /// has no per-CPU lines. A whole-host model: one line saying it reports the power of the machine
    /// whose counters it reads. A guest-shaped model: k > T is refused; k outside the trained range is
    /// flagged (every window is then out of distribution); no `cpuN` lines fall back to k = T
    /// (the whole-host view) with a warning.
    static func checkGuestSize(model: ModelFile, onlineCPUs k: Int, path: String, warn: (String) -> Void) throws -> Int {
        guard let shape = model.guestShape else {
            warn("model \(model.displayName) has no host metadata (a whole-host model, like every DECODE-RAPL checkpoint): "
                 + "it assumes this guest is its whole host and reports that host's power, not this guest's share")
            return 0
        }
        let t = shape.host.threads
        if k == 0 {
            warn("\(path) has no per-CPU lines: the vCPU count is unknown, assuming the whole host (k = T = \(t)); "
                 + "the estimate is the host's power, not this guest's share")
            return t
        }
        if k > t {
            throw VraplError("this guest has \(k) vCPUs but model \(model.displayName) was trained for a host of \(t) threads "
                             + "(\(shape.host.cpuModel)): a guest cannot be larger than its host; use a model of this host")
        }
        if !shape.vcpus.contains(k) {
            warn("this guest's \(k) vCPUs lie outside the k = \(shape.vcpus.lowerBound)…\(shape.vcpus.upperBound) the model was trained on: "
                 + "every window is flagged out of distribution")
        }
        return k
    }

    /// The current snapshot (what exporters see).
    public var snapshot: GuestSnapshot { snapshots.current }

    private func publish() {
        var s = GuestSnapshot(model: identity, estimate: estimator.latest,
                              calibration: calibrator.map { $0.state(rawWatts: estimator.latest?.watts ?? 0) })
        s.node = node
        if let split = processSplit { s.processes = split.entries }
        if let split = podSplit {
            s.containers = split.containers
            s.pods = split.pods
            s.kubeUnattributedJoules = split.unattributedJoules
        }
        s.samples = samples
        s.lateTicks = lateTicks
        s.skippedReads = skippedReads
        if let attribution { s.attributedJoules = attribution.totals }
        snapshots.publish(s)
    }

    /// One processed sample: estimator, calibration integration, JSONL. Shared by live and replay.
    /// Per tick, or with `flushNow` (replay): the estimate after this sample (nil while the window
    /// fills). Batched: nil; the sample's estimate is handled at the next `exportTick`.
    @inline(__always)
    func step(_ sample: RawSample, wallClockUnix: Double, flushNow: Bool = false) -> GuestEstimate? {
        samples += 1
        var latest: GuestEstimate?
        estimator.process(sample, wallClockUnix: wallClockUnix) { estimate, dtNs in
            handle(estimate, dtNs: dtNs)
            latest = estimate
        }
        if flushNow {
            estimator.flush { estimate, dtNs in
                handle(estimate, dtNs: dtNs)
                latest = estimate
            }
        }
        return latest
    }

    /// What follows each estimate, in sample order in both modes: calibration over its interval, JSONL.
    @inline(__always)
    private func handle(_ e: GuestEstimate, dtNs: UInt64) {
        if var c = calibrator, dtNs > 0 {
            c.integrate(rawWatts: e.watts, dtNs: dtNs)
            calibrator = c
        }
        if e.isNewPrediction, let jsonl {
            jsonl.append(e, calibration: calibrator.map { $0.state(rawWatts: e.watts) })
        }
    }

    /// Periodic work: the staged windows' predictions (batched mode), host counter, attribution,
    /// files, terminal line.
    /// `final` (at exit): every exporter writes, whatever its own interval.
    func exportTick(monotonicNs: UInt64, showTerminal: Bool, final: Bool = false) throws {
        estimator.flush { estimate, dtNs in handle(estimate, dtNs: dtNs) }
        if let reader = hostReader, var c = calibrator {
            if let counter = reader.readIfComplete() {
                c.observe(hostCounter: counter, guestEnergyJoules: estimator.energyJoules, monotonicNs: monotonicNs)
            } else {
                c.skip()
            }
            if c.suspectsScaphandreBug && !warnedScaphandreScale {
                warnedScaphandreScale = true
                fputs("vrapl-guest: warning: the host's energy for this VM grows about 5× slower than the estimate (fitted scale "
                      + String(format: "%.2f", c.scale) + "), as Scaphandre's qemu exporter does before its fix (hubblo-org/scaphandre#428): "
                      + "pass --host-energy-scale 5 if the host runs such a version\n", stderr)
            }
            calibrator = c
        }
        if let attribution { try attribution.update() }
        if let e = estimator.latest {
            let active = e.activeEnergyJoules ?? e.keplerActiveEnergyJoules
            processSplit?.update(activeJoules: active, monotonicNs: monotonicNs)
            podSplit?.update(activeJoules: active, monotonicNs: monotonicNs)
        }
        publish()
        let s = snapshots.current
        for exporter in exporters { if final { try exporter.finish(s) } else { try exporter.export(s) } }
        if showTerminal { try terminal.export(s) }
    }

    // MARK: Live

    /// The cgroup v2 root `cpu.stat` for a model whose busy percentages come from it (nil for the
    /// others). Where it cannot be read the guest falls back to /proc/stat ticks and says so once:
    /// the features are then noisier than in training for small guests, never missing.
    static func openCPUUsage(featureSet: FeatureSet, cgroupfs: String?, warn: (String) -> Void) -> CPUUsageReader? {
        guard featureSet.needsCPUUsage else { return nil }
        do { return try CPUUsageReader.ofHost(cgroupfs: cgroupfs) } catch {
            warn("the model reads busy time from the cgroup v2 cpu.stat, but \(error): falling back to /proc/stat ticks")
            return nil
        }
    }

    /// Samples `<procfs>/stat` at the model's interval on absolute monotonic deadlines until SIGTERM,
    /// SIGINT or `--duration`; then exports a last time and returns.
    public func runLive() throws {
        let reader = try ProcStatReader(procfs: config.procfs)
        let vcpuFallback = try GuestRunner.checkGuestSize(model: model, onlineCPUs: reader.cpuCount, path: reader.path,
                                                          warn: { fputs("vrapl-guest: \($0)\n", stderr) })
        var vmstat: KeyedCounterReader?
        var vmValues: [UInt64] = []
        if estimator.featureSet.needsPageFaults {
            let r = try KeyedCounterReader(procfs: config.procfs, counters: ["pgfault"])
            vmstat = r
            vmValues = [0]
        }
        let usage = GuestRunner.openCPUUsage(featureSet: estimator.featureSet, cgroupfs: config.cgroupfs,
                                             warn: { fputs("vrapl-guest: \($0)\n", stderr) })
        // SIGTERM/SIGINT (the one handler, VraplCore.StopSignal): the loop finishes the tick, exports
        // once more and returns; a second signal kills.
        StopSignal.reset()
        StopSignal.install()
        signal(SIGPIPE, SIG_IGN)
        server?.start()
        defer { server?.stop() }
        // Start-up (parsing the model file, building the network) freed far more heap than the loop
        // keeps; hand it back to the kernel once instead of keeping it resident for the daemon's life.
        HeapTrim.releaseFreedMemory()

        let showTerminal = config.terminal ?? (isatty(STDOUT_FILENO) != 0 && config.jsonl != "-")
        let exportEveryNs = UInt64(max(10, config.exportIntervalMs) * 1e6)
        let start = SampleClock.monotonicNs()
        let endNs: UInt64? = config.duration.map { start + UInt64(max(0, $0) * 1e9) }
        var deadline = start
        var nextExport = start + exportEveryNs
        var stat = ProcStatSnapshot()
        var retry = ReadRetry(intervalNs: intervalNs)
        // Batched: a tick only copies /proc/stat's bytes into a slot (`StagedProcStat`); the slots are
        // parsed and estimated at the export tick, at most `stageSlots` ticks at a time.
        let stage = config.predictPerTick ? nil : StagedProcStat(reader: reader, slots: GuestRunner.stageSlots)
        func sample(_ stat: ProcStatSnapshot, cpus: Int, monotonicNs: UInt64, wallClockUnix: Double,
                    pageFaults: UInt64?, cpuUsage: CPUUsage?) {
            let k = cpus > 0 ? cpus : vcpuFallback
            _ = step(RawSample(monotonicNs: monotonicNs, stat: stat, pageFaults: pageFaults, vcpus: k, cpuUsage: cpuUsage),
                     wallClockUnix: wallClockUnix)
        }
        func drainStage() throws {
            try stage?.drain(into: &stat, retry: &retry) { stat, cpus, t in
                sample(stat, cpus: cpus, monotonicNs: t.monotonicNs, wallClockUnix: t.wallClockUnix,
                       pageFaults: t.pageFaults, cpuUsage: t.cpuUsage)
            }
        }

        // Where /proc/stat is the one source, the batched ticks run in C until one needs this loop.
        let cTicks = stage != nil && vmstat == nil && usage == nil
        while StopSignal.received == 0 {
            let now: UInt64
            if cTicks, let stage,
               let staged = stage.runTicks(deadlineNs: &deadline, untilNs: min(nextExport, endNs ?? .max), intervalNs: intervalNs,
                                           lateTicks: &lateTicks, retry: &retry) {
                now = staged
            } else {
                // The one absolute-deadline sleep (VraplCore.SampleClock); a signal re-checks the stop flag.
                guard StopSignal.received == 0, SampleClock.sleep(untilMonotonicNs: deadline) else { continue }
                // A failed read is retried once; a tick that still fails is skipped (the next Δt is longer,
                // no energy lost) and counted; only a persistent failure ends the guest.
                var busy: CPUUsage? = nil
                let read = try retry.attempt {
                    if let stage { try stage.capture() } else { try reader.read(into: &stat) }
                    if let vmstat { try vmstat.read(into: &vmValues) }
                    if let usage { busy = try usage.read() }
                }
                now = SampleClock.monotonicNs()
                if read {
                    let faults = vmstat == nil ? nil : vmValues[0]
                    if let stage {
                        stage.commit(monotonicNs: now, wallNs: SampleClock.wallNs(), pageFaults: faults, cpuUsage: busy)
                    } else {
                        sample(stat, cpus: reader.cpuCount, monotonicNs: now, wallClockUnix: wallNowUnix(), pageFaults: faults, cpuUsage: busy)
                    }
                }
            }
            // Full slots are parsed at once, whichever tick filled them.
            if let stage, stage.isFull { try drainStage() }
            if now >= nextExport {
                try drainStage()
                skippedReads = retry.skippedTicks
                try exportTick(monotonicNs: now, showTerminal: showTerminal)
                nextExport = now + exportEveryNs
            }
            if let endNs, now >= endNs { break }
            deadline += intervalNs
            if deadline <= now {
                // Late: skip the missed deadlines; the next Δt is simply longer (no energy lost).
                let missed = (now - deadline) / intervalNs + 1
                lateTicks += Int(missed)
                deadline += missed * intervalNs
            }
        }
        try drainStage()
        skippedReads = retry.skippedTicks
        try exportTick(monotonicNs: SampleClock.monotonicNs(), showTerminal: showTerminal, final: true)
        if showTerminal { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }

    // MARK: Replay

    /// Runs every sample of a recording through the same estimator, as fast as it can, writing
    /// `index,timestamp_unix,predicted_power_watts[,package_power_watts]` for every prediction.
    /// Returns the number of rows written.
    @discardableResult
    public func runReplay(trace: TraceDataSource, out: String?) throws -> Int {
        let traceInterval = Double(trace.sampleIntervalNs) / 1e6
        let modelInterval = model.embedding.sampleIntervalMs
        if abs(traceInterval - modelInterval) > 0.01 * modelInterval {
            throw VraplError("\(trace.name): recording is sampled every \(fmtMs(traceInterval)) ms but model \(config.modelPath) expects \(fmtMs(modelInterval)) ms windows (refusing)")
        }
        if model.guestShape != nil && trace.trace.guestView == nil {
            throw VraplError("\(trace.name): model \(model.displayName) is guest-shaped (input vcpu_share) but the recording is a whole-host trace with no guest view (/guest_view)")
        }
        if estimator.featureSet.needsPageFaults && !trace.hasPageFaults {
            throw VraplError("\(trace.name): model features need /proc/vmstat pgfault, which the recording lacks")
        }
        let target = trace.packageWatts
        var text = "index,timestamp_unix,predicted_power_watts" + (target != nil ? "," + TargetPower.name(trace: trace.trace) : "") + "\n"
        var rows = 0
        var previousNs: UInt64?
        for t in 0..<trace.count {
            let sample = trace.sample(t)
            if let e = step(sample, wallClockUnix: trace.wallClockUnix(t), flushNow: true), e.isNewPrediction {
                // Same number formats as `vrapl predict`.
                text += "\(t),\(String(format: "%.6f", trace.wallClockUnix(t))),\(String(format: "%.4f", Float(e.predictedWatts)))"
                if let target { text += target[t].isFinite ? String(format: ",%.4f", target[t]) : "," }
                text += "\n"
                rows += 1
            }
            previousNs = sample.monotonicNs
        }
        if let last = previousNs { try exportTick(monotonicNs: last, showTerminal: false, final: true) }
        if let out, out != "-" {
            try TextFile.writeStream(text, to: out, option: "--out")
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        return rows
    }
}

func fmtMs(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
